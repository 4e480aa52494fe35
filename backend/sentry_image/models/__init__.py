"""Detector architectures. ``build_model`` turns an architecture name plus its options into a module.

Every detector maps a float image batch ``B x 3 x H x W`` (normalised per the model card) to one
logit per image; a positive logit means "AI-generated". All of them end in global average pooling,
so they accept any input size at or above their minimum.
"""

from sentry_image.models.architectures import ARCHITECTURES, build_model, known_architectures

__all__ = ["ARCHITECTURES", "build_model", "known_architectures"]
