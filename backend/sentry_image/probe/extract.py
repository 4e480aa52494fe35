"""``ViewExtractor``: the backbone features of every view of a batch of images, the one code path that
training, evaluation and the shipped detector share."""

from __future__ import annotations

import numpy as np
from PIL import Image

from sentry_image.backbones.features import LayerFeatures
from sentry_image.engine.tiling import InputSpec, normalize
from sentry_image.errors import ImageDecodeError
from sentry_image.probe.cache import FeatureCache
from sentry_image.probe.views import VIEWS, view_crops

MIN_SIDE = 16

Box = tuple[int, int, int, int]


class ViewExtractor:
    """Runs the backbone on the views of images: ``extract`` gives, per image, each view's features
    (``crops x layers x tokens x hidden``) and the native crops' boxes."""

    def __init__(
        self,
        features: LayerFeatures,
        views: tuple[str, ...] = VIEWS,
        native_crops: int = 1,
        batch_size: int = 8,
        cache: FeatureCache | None = None,
    ) -> None:
        bb = features.card
        self.features = features
        self.views = views
        self.native_crops = native_crops
        self.spec = InputSpec(crop=bb.image_size, max_tiles=native_crops, mean=bb.mean, std=bb.std)
        self.batch_size = batch_size
        self.cache = cache

    def crop_features(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Features of each uint8 crop, from the cache where it has them; the rest normalised
        ``batch_size`` crops at a time (which bounds the float copies; the backbone runs them one by one)."""
        cache = self.cache
        keys = [FeatureCache.key(c) for c in crops] if cache is not None else []
        out: list[np.ndarray | None] = [cache.get(k) for k in keys] if cache is not None else [None] * len(crops)
        todo = [i for i, f in enumerate(out) if f is None]
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            feats = self.features.run(normalize(np.stack([crops[i] for i in chunk]), self.spec))
            for i, f in zip(chunk, feats, strict=True):
                out[i] = f
                if cache is not None:
                    cache.put(keys[i], f)
        return out  # type: ignore[return-value]

    def extract(self, images: list[Image.Image]) -> list[tuple[dict[str, np.ndarray], list[Box]]]:
        """All crops of all images go through the backbone together; a crop that is the same pixels as
        another (a small image's two views) runs once. ``ImageDecodeError`` for an image under
        ``MIN_SIDE`` pixels on a side."""
        crops: list[np.ndarray] = []
        index: dict[bytes, int] = {}
        layout: list[tuple[dict[str, list[int]], list[Box]]] = []
        for img in images:
            if min(img.width, img.height) < MIN_SIDE:
                raise ImageDecodeError(
                    f"image is {img.width}x{img.height}; this model needs at least {MIN_SIDE} pixels on each side"
                )
            resized, natives, boxes = view_crops(img, self.spec.crop, self.native_crops)
            ids: dict[str, list[int]] = {}
            for view, group in (("resize", [resized]), ("native", natives)):
                if view not in self.views:
                    continue
                ids[view] = []
                for crop in group:
                    ident = crop.tobytes()
                    if ident not in index:
                        index[ident] = len(crops)
                        crops.append(crop)
                    ids[view].append(index[ident])
            layout.append((ids, boxes if "native" in ids else [(0, 0, img.width, img.height)]))
        feats = self.crop_features(crops)
        return [({v: np.stack([feats[i] for i in idx]) for v, idx in ids.items()}, boxes) for ids, boxes in layout]
