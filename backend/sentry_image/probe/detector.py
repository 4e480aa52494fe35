"""``ProbeDetector``: scores images with a frozen backbone's per-layer features and a linear head
(architecture ``clip-layers``). It answers like ``engine.detector.Detector`` (``score``, ``logits`` for
the heatmap, ``thresholds``, ``card``), so the service, ``check``, evaluation and the quiz take either.

Per image it runs the backbone on the resize view and on up to ``native_crops`` native crops (``views``),
the crops of all images gathered together (a duplicate runs once) and run one at a time
(``backbones.features``). The head is linear, so the image's logit (the head on the resize view's features
and the native crops' mean features) is the mean of one logit per native crop; those per-crop logits are
the tiles a heatmap and ``Score.tile_logits`` show. The CPU path never imports PyTorch.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sentry_image.backbones.catalog import BackboneCard, backbone_card
from sentry_image.backbones.features import LayerFeatures, layer_features
from sentry_image.engine.calibration import calibrated_probability, verdict_for
from sentry_image.engine.compression import CompressionState
from sentry_image.engine.score import Score
from sentry_image.errors import SentryError
from sentry_image.probe.cache import FeatureCache
from sentry_image.probe.extract import ViewExtractor
from sentry_image.probe.head import FeatureSpec, LinearHead
from sentry_image.registry.card import PROBE, WEIGHTS_FILE, read_card, verify_folder

__all__ = ["PROBE", "ProbeDetector", "feature_dim", "missing_backbone"]


class ProbeDetector:
    """A backbone plus a linear head, ready to score images."""

    max_heatmap_tiles = 16  # each tile is a full backbone run (60-70 ms on 2 cores)

    def __init__(
        self,
        card: dict[str, Any],
        head: LinearHead,
        features: LayerFeatures,
        thresholds: dict[str, float] | None = None,
        batch_size: int = 8,
        feature_cache: FeatureCache | None = None,
    ) -> None:
        options = card["architecture"]["options"]
        self.card = card
        self.head = head
        self.feature_spec = FeatureSpec.from_options(options)
        self.extractor = ViewExtractor(
            features, self.feature_spec.views, int(options.get("native_crops", 1)), batch_size, feature_cache
        )
        self.spec = self.extractor.spec
        self.thresholds = {**card["thresholds"], **(thresholds or {})}

    @classmethod
    def from_folder(cls, folder: Path, device: str = "auto", backend: str = "auto", **kwargs: Any) -> ProbeDetector:
        """Load and validate a probe folder: card, the head's sha256 and shapes, the backbone (verified).

        ``device`` and ``backend`` are accepted for symmetry with ``Detector``: the backbone runs on ONNX
        Runtime, on CUDA where that build of ONNX Runtime offers it, else on the CPU."""
        card = verify_folder(folder, read_card(folder))
        options = card["architecture"]["options"]
        spec = FeatureSpec.from_options(options)
        bb = backbone_card(str(options.get("backbone", "")))
        head = LinearHead.load(folder / WEIGHTS_FILE, feature_dim(spec, bb))
        return cls(card, head, layer_features(bb), **kwargs)

    @property
    def backend(self) -> LayerFeatures:
        """What runs the backbone (``name`` ``"onnx"``)."""
        return self.extractor.features

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``."""
        return self.extractor.features.device

    @property
    def model_id(self) -> str:
        """The card's model id."""
        return str(self.card["id"])

    @property
    def tile_detector(self) -> ProbeDetector:
        """The detector whose tiles a heatmap shows: this one."""
        return self

    def tile_logits(self, per_view: dict[str, np.ndarray]) -> list[float]:
        """One logit per native crop (the resize view's share plus that crop's share plus the bias); a
        probe without the native view has the one logit of its resize view."""
        fs = self.feature_spec
        n = len(per_view["native"]) if "native" in per_view else 1
        rows = {v: per_view[v] if v == "native" else np.repeat(per_view[v], n, axis=0) for v in fs.views}
        return self.head.logits(fs.select(rows)).astype(float).tolist()

    def logits(self, images: list[Image.Image]) -> list[tuple[list[float], list[tuple]]]:
        """Per image: its tiles' logits and their boxes (the native crops)."""
        return [(self.tile_logits(per_view), boxes) for per_view, boxes in self.extractor.extract(images)]

    def score(self, images: list[Image.Image], compressions: list[CompressionState] | None = None) -> list[Score]:
        """Calibrated scores and verdicts for decoded RGB images."""
        start = time.perf_counter()
        raw = self.logits(images)
        per_image_ms = (time.perf_counter() - start) * 1000.0 / max(1, len(images))
        cal = self.card["calibration"]
        out = []
        for tiles, boxes in raw:
            logit = float(np.mean(tiles))
            p = calibrated_probability(logit, float(cal["temperature"]), float(cal["shift"]))
            verdict = verdict_for(p, self.thresholds["likely_ai"], self.thresholds["likely_real"])
            out.append(Score(p, verdict, logit, tiles, boxes, per_image_ms))
        return out


def missing_backbone(card: dict[str, Any]) -> str | None:
    """Why a probe model cannot run here (its backbone is absent or altered, with the command that fixes
    it), or None; None for every other architecture. Cheap: a verified file is not hashed again."""
    if card["architecture"]["name"] != PROBE:
        return None
    from sentry_image.backbones.store import verify

    try:
        verify(backbone_card(str(card["architecture"]["options"].get("backbone", ""))))
    except SentryError as exc:
        return exc.message
    return None


def feature_dim(spec: FeatureSpec, backbone: BackboneCard) -> int:
    """Length of the feature vector a head on ``spec`` reads."""
    return len(spec.views) * len(spec.layers) * len(spec.tokens) * backbone.hidden
