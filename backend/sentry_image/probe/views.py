"""The crops a probe's backbone sees of one image (its "views"), as uint8 ``S x S x 3`` arrays.

- ``resize``: CLIP's own preprocessing, the short side resized to ``S`` (bicubic) and the centre cut out.
  It sees the whole composition and is the more robust to JPEG.
- ``native``: crops of ``S x S`` pixels at native resolution (no resampling, so the generator's pixel-level
  traces survive), spread evenly over the image (``engine.tiling.tile_boxes``; one crop is the centre one).
  An image smaller than ``S`` on a side has no native crop of that size: its native view is its resize view.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from sentry_image.engine.tiling import InputSpec, tile_boxes

VIEWS = ("resize", "native")


def resize_view(img: Image.Image, size: int) -> np.ndarray:
    """The short side resized to ``size`` with bicubic resampling, centre crop of ``size x size``."""
    scale = size / min(img.width, img.height)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    resized = img.resize((w, h), Image.Resampling.BICUBIC)
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8)


def native_boxes(img: Image.Image, size: int, count: int) -> list[tuple[int, int, int, int]]:
    """Boxes of up to ``count`` native crops of ``size`` (none when the image is smaller than ``size``)."""
    if min(img.width, img.height) < size:
        return []
    return tile_boxes(img.width, img.height, InputSpec(crop=size, max_tiles=count))


def view_crops(img: Image.Image, size: int, native_count: int) -> tuple[np.ndarray, list[np.ndarray], list[tuple]]:
    """``(resize view, native crops, their boxes)``; for a small image the native crops are
    ``[resize view]`` with the whole image as box."""
    resized = resize_view(img, size)
    boxes = native_boxes(img, size, native_count)
    if not boxes:
        return resized, [resized], [(0, 0, img.width, img.height)]
    return resized, [np.asarray(img.crop(b), dtype=np.uint8) for b in boxes], boxes
