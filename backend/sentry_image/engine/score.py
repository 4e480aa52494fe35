"""One image's result from any detector (``Detector``, ``FusedDetector``, ``ProbeDetector``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Score:
    """One image's result: calibrated P(AI), verdict, raw logit and per-tile logits with their boxes."""

    score: float
    verdict: str
    logit: float
    tile_logits: list[float] = field(default_factory=list)
    tile_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    model_ms: float = 0.0
