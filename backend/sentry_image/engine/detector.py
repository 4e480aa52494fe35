"""The inference engine: a loaded model plus its card, scoring images tile by tile in batches.

Thread-safe: one lock serialises access to the model so that the service's worker threads can share
one detector; requests are still batched across their tiles. The numbers come from a backend
(``engine.backends``): ONNX Runtime on CPU, PyTorch on CUDA or where no ONNX export can be had.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sentry_image.engine.backends import Backend, TorchBackend
from sentry_image.engine.calibration import calibrated_probability, verdict_for
from sentry_image.engine.compression import CompressionState
from sentry_image.engine.device import resolve_device
from sentry_image.engine.open_model import open_backend
from sentry_image.engine.score import Score
from sentry_image.engine.tiling import InputSpec, image_tiles


class Detector:
    """A model ready to score images."""

    max_heatmap_tiles = 256  # tiles a heatmap may score (engine.heatmap)

    def __init__(
        self,
        backend: Backend,
        card: dict[str, Any],
        batch_size: int = 32,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.backend = backend
        self.card = card
        self.spec = InputSpec.from_card(card["input"])
        self.batch_size = batch_size
        self.thresholds = {**card["thresholds"], **(thresholds or {})}
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, device: str = "auto", backend: str = "auto", **kwargs: Any) -> Detector:
        """Load and validate a single model's folder with the best backend here (``engine.open_model``);
        ``engine.load.load_detector`` takes fused folders too."""
        runner, card = open_backend(folder, device=device, backend=backend)
        return cls(runner, card, **kwargs)

    @classmethod
    def from_module(cls, model: Any, card: dict[str, Any], device: str = "auto", **kwargs: Any) -> Detector:
        """Wrap an in-memory PyTorch module (the training loop's validation)."""
        return cls(TorchBackend(model, resolve_device(device)), card, **kwargs)

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``."""
        return self.backend.device

    @property
    def model_id(self) -> str:
        """The card's model id."""
        return str(self.card["id"])

    @property
    def tile_detector(self) -> Detector:
        """The detector whose tiles a heatmap shows: this one."""
        return self

    def _run(self, tiles: np.ndarray) -> np.ndarray:
        outs = [self.backend.run(tiles[i : i + self.batch_size]) for i in range(0, len(tiles), self.batch_size)]
        return np.concatenate(outs) if outs else np.empty(0, dtype=np.float32)

    def logits(self, images: list[Image.Image]) -> list[tuple[list[float], list[tuple[int, int, int, int]]]]:
        """Per-tile logits for each image; tiles of equal size are batched together across images."""
        prepared = [image_tiles(img, self.spec) for img in images]
        results: list[list[float]] = [[] for _ in images]
        by_shape: dict[tuple[int, ...], list[tuple[int, np.ndarray]]] = {}
        for idx, (tiles, _) in enumerate(prepared):
            by_shape.setdefault(tuple(tiles.shape[1:]), []).append((idx, tiles))
        with self._lock:
            for group in by_shape.values():
                stacked = np.concatenate([t for _, t in group])
                out = self._run(stacked).tolist()
                pos = 0
                for idx, tiles in group:
                    results[idx] = out[pos : pos + len(tiles)]
                    pos += len(tiles)
        return [(results[i], prepared[i][1]) for i in range(len(images))]

    def score(self, images: list[Image.Image], compressions: list[CompressionState] | None = None) -> list[Score]:
        """Calibrated scores and verdicts for decoded RGB images (a single model does not use the
        files' compression states; a fused one does)."""
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
