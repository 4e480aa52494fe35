"""A fused model's folder: its parts (expert model folders under ``parts/``) and its combiner (feature
names in the card, weights in ``model.safetensors``). Read without loading any expert, so the registry
can check a fused folder without the engine that runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image.engine.compression import CompressionState
from sentry_image.errors import ModelError
from sentry_image.registry.card import WEIGHTS_FILE

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
