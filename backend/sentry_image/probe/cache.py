"""Backbone features cached on disk by the sha256 of the crop's pixels (so by image, view and augmentation:
each of them changes the pixels) and the backbone's id: training and evaluation compute a crop's features
once, however many runs, heads and protocols read them. Files are written atomically; a damaged one is
computed again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from sentry_image.atomic_files import atomic_write_bytes


class FeatureCache:
    """``root/<backbone>/<2 hex>/<sha256>.npy``: one crop's features (float32 ``layers x tokens x hidden``)."""

    def __init__(self, root: Path, backbone_id: str) -> None:
        self.root = Path(root) / backbone_id
        self.backbone_id = backbone_id

    @staticmethod
    def key(crop: np.ndarray) -> str:
        """The cache key of a uint8 crop: sha256 of its shape and pixels."""
        h = hashlib.sha256(str(crop.shape).encode())
        h.update(np.ascontiguousarray(crop).data)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached features, or None."""
        path = self._path(key)
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None

    def put(self, key: str, features: np.ndarray) -> None:
        """Store one crop's features."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        import io

        buf = io.BytesIO()
        np.save(buf, features.astype(np.float32), allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
