"""Load any model folder ready to score images: a single model (``Detector``), a fused one
(``FusedDetector``) or a backbone probe (``probe.detector.ProbeDetector``); all three score the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry_image.engine.detector import Detector
from sentry_image.engine.fusion import FusedDetector
from sentry_image.probe.detector import PROBE, ProbeDetector
from sentry_image.registry.card import FUSION, read_card

AnyDetector = Detector | FusedDetector | ProbeDetector


def load_detector(folder: Path, device: str = "auto", backend: str = "auto", **kwargs: Any) -> AnyDetector:
    """Load and validate a model folder with the best backend here (see ``engine.open_model``)."""
    arch = read_card(folder)["architecture"]["name"]
    if arch == FUSION:
        return FusedDetector.from_folder(folder, device=device, backend=backend, **kwargs)
    if arch == PROBE:
        return ProbeDetector.from_folder(folder, device=device, backend=backend, **kwargs)
    return Detector.from_folder(folder, device=device, backend=backend, **kwargs)
