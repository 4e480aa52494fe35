"""Load any model folder ready to score images: a single model (``Detector``) or a fused one
(``FusedDetector``, which scores the same way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry_image.engine.detector import Detector
from sentry_image.engine.fusion import FusedDetector
from sentry_image.registry.card import FUSION, read_card


def load_detector(folder: Path, device: str = "auto", backend: str = "auto", **kwargs: Any) -> Detector | FusedDetector:
    """Load and validate a model folder with the best backend here (see ``engine.open_model``)."""
    if read_card(folder)["architecture"]["name"] == FUSION:
        return FusedDetector.from_folder(folder, device=device, backend=backend, **kwargs)
    return Detector.from_folder(folder, device=device, backend=backend, **kwargs)
