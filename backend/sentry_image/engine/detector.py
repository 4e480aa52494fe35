"""The inference engine: a loaded model plus its card, scoring images tile by tile in batches.

Thread-safe: one lock serialises access to the model so that the service's worker threads can share
one detector; requests are still batched across their tiles.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from sentry_image.engine.calibration import calibrated_probability, verdict_for
from sentry_image.engine.device import resolve_device
from sentry_image.engine.tiling import InputSpec, image_tiles


@dataclass
class Score:
    """One image's result: calibrated P(AI), verdict, raw logit and per-tile logits with their boxes."""

    score: float
    verdict: str
    logit: float
    tile_logits: list[float] = field(default_factory=list)
    tile_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    model_ms: float = 0.0


class Detector:
    """A model ready to score images on one device."""

    def __init__(
        self,
        model: nn.Module,
        card: dict[str, Any],
        device: str = "auto",
        batch_size: int = 32,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.card = card
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.spec = InputSpec.from_card(card["input"])
        self.batch_size = batch_size
        self.thresholds = {**card["thresholds"], **(thresholds or {})}
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, device: str = "auto", **kwargs: Any) -> Detector:
        """Load and validate a model folder (see ``registry.loading``)."""
        from sentry_image.registry.loading import load_model_folder

        model, card = load_model_folder(folder)
        return cls(model, card, device=device, **kwargs)

    @property
    def model_id(self) -> str:
        """The card's model id."""
        return str(self.card["id"])

    def _run(self, tiles: torch.Tensor) -> torch.Tensor:
        outs = []
        with torch.inference_mode():
            for i in range(0, len(tiles), self.batch_size):
                batch = tiles[i : i + self.batch_size].to(self.device, non_blocking=True)
                if self.device.type == "cuda":
                    with torch.autocast("cuda", dtype=torch.float16):
                        outs.append(self.model(batch).float().cpu())
                else:
                    outs.append(self.model(batch).cpu())
        return torch.cat(outs) if outs else torch.empty(0)

    def logits(self, images: list[Image.Image]) -> list[tuple[list[float], list[tuple[int, int, int, int]]]]:
        """Per-tile logits for each image; tiles of equal size are batched together across images."""
        prepared = [image_tiles(img, self.spec) for img in images]
        results: list[list[float]] = [[] for _ in images]
        by_shape: dict[tuple[int, ...], list[tuple[int, torch.Tensor]]] = {}
        for idx, (tiles, _) in enumerate(prepared):
            by_shape.setdefault(tuple(tiles.shape[1:]), []).append((idx, tiles))
        with self._lock:
            for group in by_shape.values():
                stacked = torch.cat([t for _, t in group])
                out = self._run(stacked).tolist()
                pos = 0
                for idx, tiles in group:
                    results[idx] = out[pos : pos + len(tiles)]
                    pos += len(tiles)
        return [(results[i], prepared[i][1]) for i in range(len(images))]

    def score(self, images: list[Image.Image]) -> list[Score]:
        """Calibrated scores and verdicts for decoded RGB images."""
        start = time.perf_counter()
        raw = self.logits(images)
        per_image_ms = (time.perf_counter() - start) * 1000.0 / max(1, len(images))
        cal = self.card["calibration"]
        scores = []
        for tile_logits, boxes in raw:
            logit = sum(tile_logits) / len(tile_logits)
            p = calibrated_probability(logit, float(cal["temperature"]), float(cal["shift"]))
            verdict = verdict_for(p, self.thresholds["likely_ai"], self.thresholds["likely_real"])
            scores.append(Score(p, verdict, logit, tile_logits, boxes, per_image_ms))
        return scores
