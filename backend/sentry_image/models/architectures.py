"""The architecture registry: one name per detector family, each with its builder and defaults.

Extension point — CLIP-feature detectors (UnivFD, Ojha et al., CVPR 2023): a linear probe on frozen
CLIP ViT-L/14 features generalises well across generators. Register it like the others::

    ARCHITECTURES["univfd"] = Architecture(
        name="univfd", build=lambda options: UnivFD(clip_weights=options["clip_weights"]),
        paper="Ojha et al., Towards Universal Fake Image Detectors..., CVPR 2023",
        default_options={}, default_input={"crop": 224, "mean": CLIP_MEAN, "std": CLIP_STD})

where ``UnivFD`` loads the CLIP visual tower from a local file the user has (weights cannot be
downloaded at run time) and trains only the final linear layer. The training loop, registry,
engine and evaluation need no other change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from sentry_image.models.npr import NPRNet
from sentry_image.models.spectral import SpectralNet
from sentry_image.models.timm_classifier import TimmClassifier

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]


@dataclass(frozen=True)
class Architecture:
    """A detector family: how to build it and what input it expects by default."""

    name: str
    build: Callable[[dict[str, Any]], nn.Module]
    paper: str
    default_options: dict[str, Any] = field(default_factory=dict)
    default_input: dict[str, Any] = field(default_factory=dict)


ARCHITECTURES: dict[str, Architecture] = {
    "npr": Architecture(
        name="npr",
        build=lambda o: NPRNet(
            width=int(o.get("width", 64)),
            blocks=tuple(o.get("blocks", (2, 2))),
            residuals=tuple(o.get("residuals", ("nearest2",))),
        ),
        paper="Tan et al., Rethinking the Up-Sampling Operations in CNN-based Generative Network "
        "for Generalizable Deepfake Detection, CVPR 2024",
        default_options={"width": 64, "blocks": [2, 2]},
        default_input={"crop": 256, "mean": HALF, "std": HALF},
    ),
    "timm": Architecture(
        name="timm",
        build=lambda o: TimmClassifier(backbone=str(o.get("backbone", "efficientnet_lite0"))),
        paper="Wang et al., CNN-generated images are surprisingly easy to spot... for now, CVPR 2020",
        default_options={"backbone": "efficientnet_lite0"},
        default_input={"crop": 224, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    ),
    "spectral": Architecture(
        name="spectral",
        build=lambda o: SpectralNet(width=int(o.get("width", 32))),
        paper="Frank et al., Leveraging Frequency Analysis for Deep Fake Image Recognition, ICML 2020",
        default_options={"width": 32},
        default_input={"crop": 256, "mean": HALF, "std": HALF},
    ),
}


def known_architectures() -> list[str]:
    """Names of the architectures the engine can build."""
    return sorted(ARCHITECTURES)


def build_model(architecture: str, options: dict[str, Any] | None = None) -> nn.Module:
    """Build an untrained detector; raises ``KeyError`` with the known names for an unknown one."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(known_architectures())}")
    arch = ARCHITECTURES[architecture]
    return arch.build({**arch.default_options, **(options or {})})
