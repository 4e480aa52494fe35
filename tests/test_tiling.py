"""Native-resolution tiling."""

from __future__ import annotations

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
