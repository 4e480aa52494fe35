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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sentry_image.engine.calibration import calibrated_probability, verdict_for
from sentry_image.engine.compression import UNKNOWN, CompressionState
from sentry_image.engine.detector import Detector, Score
from sentry_image.errors import ModelError

# Each feature from the parts' calibrated logits (by role) and the compression state of the file. The
# compression state only gates how much an expert counts (JPEG erases the traces the artifact expert
# reads); it never adds evidence by itself: a main effect would learn the training data's bias that
# lossless files are mostly AI and real photos mostly JPEG ("no JPEG grid => AI").
FEATURES: dict[str, Callable[[dict[str, float], CompressionState], float]] = {
    "semantic": lambda z, c: z["semantic"],
    "artifact": lambda z, c: z["artifact"],
    "artifact_if_jpeg": lambda z, c: z["artifact"] * (c.state == "jpeg"),
    "artifact_x_jpeg_quality": lambda z, c: z["artifact"] * ((c.jpeg_quality or 0) / 100.0),
    "artifact_if_lossless": lambda z, c: z["artifact"] * c.lossless,
}
FEATURE_PARTS = {name: name.split("_")[0] for name in FEATURES}


def part_folders(folder: Path, card: dict[str, Any]) -> dict[str, Path]:
    """The parts' folders by role; ``ModelError`` for a path that leaves the model folder."""
    parts = card["architecture"]["options"].get("parts") or {}
    if not parts:
        raise ModelError(f"fusion model {card['id']!r} names no parts")
    out = {}
    root = folder.resolve()
    for role, rel in parts.items():
        path = (folder / rel).resolve()
        if Path(rel).is_absolute() or root not in path.parents:
            raise ModelError(f"fusion model {card['id']!r}: part {role!r} is outside its folder ({rel})")
        out[role] = path
    return out


def feature_vector(names: list[str], logits: dict[str, float], comp: CompressionState) -> np.ndarray:
    """The combiner's input for one image."""
    return np.array([FEATURES[n](logits, comp) for n in names], dtype=np.float64)


def read_combiner(folder: Path, card: dict[str, Any]) -> tuple[list[str], np.ndarray, float]:
    """Feature names, weights and bias of a fusion folder (weights already checked by sha256)."""
    from safetensors.numpy import load_file

    from sentry_image.registry.card import WEIGHTS_FILE

    names = list(card["architecture"]["options"].get("features") or [])
    unknown = [n for n in names if n not in FEATURES]
    if unknown or not names:
        raise ModelError(f"fusion model {card['id']!r}: unknown combiner features {unknown}; known: {list(FEATURES)}")
    state = load_file(str(folder / WEIGHTS_FILE))
    weight = state.get("weight")
    bias = state.get("bias")
    if weight is None or bias is None or weight.shape != (len(names),) or bias.shape != (1,):
        raise ModelError(f"fusion model {card['id']!r}: the combiner weights do not match its {len(names)} features")
    return names, weight.astype(np.float64), float(bias[0])


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
        from sentry_image.registry.card import read_card
        from sentry_image.registry.loading import verify_folder

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
