"""Native-resolution tiling."""

from __future__ import annotations

import numpy as np
from PIL import Image

from sentry_image.engine.tiling import InputSpec, image_tiles, tile_boxes


def test_small_image_is_one_tile_at_native_size() -> None:
    spec = InputSpec(crop=224)
    assert tile_boxes(128, 100, spec) == [(0, 0, 128, 100)]


def test_large_image_is_covered_without_resizing() -> None:
    spec = InputSpec(crop=224, max_tiles=64)
    boxes = tile_boxes(1000, 500, spec)
    assert len(boxes) == 5 * 3
    assert all(r - left == 224 and b - t == 224 for left, t, r, b in boxes)
    assert min(b[0] for b in boxes) == 0 and max(b[2] for b in boxes) == 1000
    assert min(b[1] for b in boxes) == 0 and max(b[3] for b in boxes) == 500


def test_tile_cap_is_respected() -> None:
    spec = InputSpec(crop=224, max_tiles=9)
    assert len(tile_boxes(4000, 3000, spec)) <= 9


def test_tiles_are_normalised_tensors() -> None:
    spec = InputSpec(crop=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    tiles, boxes = image_tiles(Image.new("RGB", (64, 32), (255, 255, 255)), spec)
    assert tiles.shape == (2, 3, 32, 32) and len(boxes) == 2
    assert float(tiles.min()) == 1.0


def test_tiles_hold_the_normalised_pixels_of_their_boxes() -> None:
    rng = np.random.default_rng(2)
    img = Image.fromarray(rng.integers(0, 256, (300, 500, 3)).astype(np.uint8))
    spec = InputSpec(crop=128, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    tiles, boxes = image_tiles(img, spec)
    assert tiles.flags["C_CONTIGUOUS"] and tiles.dtype == np.float32
    for tile, box in zip(tiles, boxes, strict=True):
        pixels = np.asarray(img.crop(box), dtype=np.float64).transpose(2, 0, 1) / 255.0
        expected = (pixels - np.reshape(spec.mean, (3, 1, 1))) / np.reshape(spec.std, (3, 1, 1))
        np.testing.assert_allclose(tile, expected, atol=1e-6)
