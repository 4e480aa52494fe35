"""Fit a fused model: score a held-out part of the training split with each expert, as found and
re-encoded as JPEG q90 (so that the combiner learns how much each expert is worth after JPEG), fit a
logistic regression over their calibrated logits and the compression features, and write a fusion
folder with the experts copied under ``parts/``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from sentry_image.atomic_files import atomic_path
from sentry_image.engine.compression import CompressionState
from sentry_image.engine.detector import Detector
from sentry_image.engine.fusion import logit_of
from sentry_image.engine.fusion_folder import feature_vector
from sentry_image.evaluation.scoring import score_samples
from sentry_image.evaluation.transforms import FORMAT_MATCHED
from sentry_image.registry.card import FUSION, PARTS_DIR, WEIGHTS_FILE, read_card, sha256_file, write_card
from sentry_image.training.datasets import Sample, open_dataset
from sentry_image.training.datasets.sample import AI
from sentry_image.training.holdout import split_holdout

console = Console(stderr=True)
DEFAULT_FEATURES = ["semantic", "artifact", "artifact_if_jpeg", "artifact_x_jpeg_quality", "artifact_if_lossless"]


def _part_logits(
    detector: Detector, samples: list[Sample], transform: Any
) -> dict[str, tuple[float, CompressionState]]:
    """Per sample key: the part's calibrated logit and the compression state of what it saw."""
    out = {}
    seen = getattr(transform, "compression", None)
    for r in score_samples(detector, samples, transform=transform, label=f"{detector.model_id}"):
        if r.error is None:
            out[r.sample.key] = (logit_of(r.score), seen or r.compression)
    return out


def fit_combiner(
    parts: dict[str, Detector], samples: list[Sample], features: list[str]
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Weights and bias of the logistic regression over ``features``, with what it was fitted on."""
    from sklearn.linear_model import LogisticRegression

    rows, labels = [], []
    for transform in (None, FORMAT_MATCHED):
        per_part = {role: _part_logits(det, samples, transform) for role, det in parts.items()}
        for s in samples:
            if not all(s.key in logits for logits in per_part.values()):
                continue
            comp = next(iter(per_part.values()))[s.key][1]
            z = {role: logits[s.key][0] for role, logits in per_part.items()}
            rows.append(feature_vector(features, z, comp))
            labels.append(s.label)
    x, y = np.array(rows), np.array(labels)
    if len(set(labels)) < 2:
        raise ValueError("the held-out part needs real and AI images")
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(x, y)
    fitted = {"rows": len(y), "ai": int(y.sum()), "real": int(len(y) - y.sum()), "protocols": ["as found", "jpeg90"]}
    return model.coef_[0].astype(np.float32), float(model.intercept_[0]), fitted


def fuse(
    part_folders: dict[str, Path],
    data: str,
    out: Path,
    holdout_fraction: float,
    model_id: str,
    model_name: str,
    features: list[str] | None = None,
) -> Path:
    """Fit the combiner on the held-out training sources and write the fused model folder ``out``."""
    from safetensors.numpy import save_file

    features = features or DEFAULT_FEATURES
    for role, folder in part_folders.items():
        held = read_card(folder).get("training", {}).get("config", {}).get("holdout_fraction", 0.0)
        if held != holdout_fraction:
            raise ValueError(
                f"the {role} expert was trained holding out {held} of the sources, not {holdout_fraction}: "
                "the combiner must be fitted on images no expert has seen"
            )
    _, held_out = split_holdout(open_dataset(data, "train"), holdout_fraction)
    if not held_out:
        raise ValueError("nothing is held out: give --holdout-fraction above 0")
    console.print(
        f"fitting the combiner on {len(held_out)} held-out training images ({sum(s.label == AI for s in held_out)} AI)"
    )
    parts = {role: Detector.from_folder(folder, device="cpu") for role, folder in part_folders.items()}
    weight, bias, fitted = fit_combiner(parts, held_out, features)
    out.mkdir(parents=True, exist_ok=True)
    for role, folder in part_folders.items():
        target = out / PARTS_DIR / role
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("checkpoints"))
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        save_file({"weight": weight, "bias": np.array([bias], dtype=np.float32)}, str(tmp))
    card = {
        "id": model_id,
        "name": model_name,
        "version": time.strftime("%Y.%m.%d"),
        "description": "experts fused by a logistic regression over their logits and the file's compression",
        "architecture": {
            "name": FUSION,
            "options": {"parts": {role: f"{PARTS_DIR}/{role}" for role in part_folders}, "features": features},
            "paper": "compression-aware late fusion (engine/fusion.py)",
        },
        "labels": ["real", "ai"],
        "thresholds": {"likely_ai": 0.7, "likely_real": 0.3},
        "calibration": {"temperature": 1.0, "shift": 0.0, "fitted_on": "held-out training sources (the combiner)"},
        "training": {
            "combiner": {"features": features, "weights": [round(float(w), 5) for w in weight], "bias": round(bias, 5)},
            "fitted_on": {**fitted, "holdout_fraction": holdout_fraction, "data": str(data)},
            "parts": {role: read_card(folder)["id"] for role, folder in part_folders.items()},
        },
        "metrics": {},
        "license": "Apache-2.0",
        "sha256": sha256_file(out / WEIGHTS_FILE),
    }
    write_card(out, card)
    console.print(
        f"fused model written to {out}: " + ", ".join(f"{f} {w:+.3f}" for f, w in zip(features, weight, strict=True))
    )
    return out
