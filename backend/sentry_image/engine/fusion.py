"""Fused detectors: several expert models (parts) and a small calibrated combiner over their logits and
the file's compression state.

A fused model is a folder whose card has architecture ``fusion``; its parts are complete model folders
under ``parts/`` (each with its own card, weights and ONNX export), and its ``model.safetensors`` holds
the combiner: one weight per feature (``FEATURES``) and a bias. The combiner is a logistic regression,
fitted by ``sentry-image fuse`` on a held-out part of the training split, so its output is already a
calibrated logit.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sentry_image.engine.calibration import calibrated_probability, verdict_for
from sentry_image.engine.compression import UNKNOWN, CompressionState
from sentry_image.engine.detector import Detector
from sentry_image.engine.fusion_folder import FEATURE_PARTS, feature_vector, part_folders, read_combiner
from sentry_image.engine.score import Score
from sentry_image.errors import ModelError


class FusedDetector:
    """Scores images with every part, then combines their calibrated logits with the compression state."""

    def __init__(
        self,
        parts: dict[str, Detector],
        card: dict[str, Any],
        features: list[str],
        weight: np.ndarray,
        bias: float,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        missing = {FEATURE_PARTS[n] for n in features if n in FEATURE_PARTS} - set(parts)
        if missing:
            raise ModelError(f"fusion model {card['id']!r} lacks the parts {sorted(missing)} that its features use")
        self.parts = parts
        self.card = card
        self.features = features
        self.weight = weight
        self.bias = bias
        self.thresholds = {**card["thresholds"], **(thresholds or {})}

    @classmethod
    def from_folder(cls, folder: Path, device: str = "auto", backend: str = "auto", **kwargs: Any) -> FusedDetector:
        """Load a fusion folder: the combiner and each part with the best backend here."""
        from sentry_image.registry.card import read_card, verify_folder

        card = verify_folder(folder, read_card(folder))
        names, weight, bias = read_combiner(folder, card)
        thresholds = kwargs.pop("thresholds", None)
        parts = {
            role: Detector.from_folder(path, device=device, backend=backend, **kwargs)
            for role, path in part_folders(folder, card).items()
        }
        return cls(parts, card, names, weight, bias, thresholds)

    @property
    def model_id(self) -> str:
        """The card's model id."""
        return str(self.card["id"])

    @property
    def tile_detector(self) -> Detector:
        """The part whose tiles the heatmap shows (the semantic expert, else the first)."""
        return self.parts.get("semantic") or next(iter(self.parts.values()))

    @property
    def backend(self) -> Any:
        """The backend of the parts (they are loaded alike)."""
        return self.tile_detector.backend

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``."""
        return self.tile_detector.device

    def combine(self, logits: dict[str, float], comp: CompressionState) -> float:
        """The combiner's logit for one image."""
        return float(feature_vector(self.features, logits, comp) @ self.weight + self.bias)

    def score(self, images: list[Image.Image], compressions: list[CompressionState] | None = None) -> list[Score]:
        """Calibrated scores and verdicts; ``compressions`` (one per image) default to unknown."""
        start = time.perf_counter()
        comps = compressions or [UNKNOWN] * len(images)
        per_part = {role: det.score(images) for role, det in self.parts.items()}
        per_image_ms = (time.perf_counter() - start) * 1000.0 / max(1, len(images))
        cal = self.card["calibration"]
        tiles = per_part.get("semantic") or next(iter(per_part.values()))
        out = []
        for i, comp in enumerate(comps):
            z = {role: logit_of(scores[i].score) for role, scores in per_part.items()}
            logit = self.combine(z, comp)
            p = calibrated_probability(logit, float(cal["temperature"]), float(cal["shift"]))
            verdict = verdict_for(p, self.thresholds["likely_ai"], self.thresholds["likely_real"])
            out.append(Score(p, verdict, logit, tiles[i].tile_logits, tiles[i].tile_boxes, per_image_ms))
        return out


def logit_of(p: float) -> float:
    """The logit of a part's calibrated probability (clipped so that 0 and 1 stay finite): what the
    combiner takes from each expert, at fitting and at scoring time alike."""
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))
