"""Patch-level heatmap: the calibrated score of overlapping tiles, painted over the image as a PNG."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from PIL import Image  # noqa: E402

from sentry_image.engine.calibration import calibrated_probability  # noqa: E402
from sentry_image.engine.detector import Detector  # noqa: E402

MAX_HEATMAP_TILES = 256
MAX_RENDER_SIDE = 2048
COLOUR_MAP = colormaps["RdYlGn_r"]  # green (real) to red (AI)


def heatmap_boxes(
    width: int, height: int, crop: int, max_tiles: int = MAX_HEATMAP_TILES
) -> list[tuple[int, int, int, int]]:
    """Tiles of the model's crop size on a half-tile stride (coarser on huge images, or to stay within
    ``max_tiles``), covering the image."""
    tw, th = min(crop, width), min(crop, height)
    stride = max(8, min(tw, th) // 2)
    while True:
        xs = list(range(0, max(1, width - tw + 1), stride))
        ys = list(range(0, max(1, height - th + 1), stride))
        if xs[-1] != width - tw:
            xs.append(width - tw)
        if ys[-1] != height - th:
            ys.append(height - th)
        if len(xs) * len(ys) <= max_tiles or stride >= max(width, height):
            return [(x, y, x + tw, y + th) for y in ys for x in xs]
        stride *= 2


def tile_scores(detector: Detector, img: Image.Image) -> tuple[list[tuple[int, int, int, int]], list[float]]:
    """Calibrated P(AI) of each heatmap tile (a fused model shows its semantic expert's tiles), as many
    tiles as the detector affords (``max_heatmap_tiles``: a backbone probe runs a large network per tile)."""
    detector = detector.tile_detector
    boxes = heatmap_boxes(img.width, img.height, detector.spec.crop, detector.max_heatmap_tiles)
    # Each crop is at most one tile in size, so the detector scores it as exactly one tile.
    logits = [tiles[0] for tiles, _ in detector.logits([img.crop(b) for b in boxes])]
    cal = detector.card["calibration"]
    return boxes, [calibrated_probability(z, float(cal["temperature"]), float(cal["shift"])) for z in logits]


def render_heatmap(
    img: Image.Image,
    boxes: list[tuple[int, int, int, int]],
    scores: list[float],
    alpha: float = 0.5,
    title: str | None = None,
) -> bytes:
    """PNG bytes: the image with a red (AI) to green (real) overlay averaged over overlapping tiles.

    The picture is drawn at most ``MAX_RENDER_SIDE`` pixels on its long side (a screen's worth), so its
    cost does not grow with the photo's size. With ``title`` (e.g. the verdict and the model), a band
    below the picture holds it and the colour scale with its P(AI) values, for a person reading the file;
    without, the PNG is the overlay alone, the image's size (the extension lays it over the image)."""
    factor = min(1.0, MAX_RENDER_SIDE / max(img.size))
    if factor < 1.0:
        img = img.resize((max(1, round(img.width * factor)), max(1, round(img.height * factor))), Image.Resampling.BOX)
        boxes = [tuple(round(v * factor) for v in box) for box in boxes]  # type: ignore[misc]
    total = np.zeros((img.height, img.width), dtype=np.float32)
    count = np.zeros_like(total)
    for (left, top, right, bottom), s in zip(boxes, scores, strict=True):
        total[top:bottom, left:right] += s
        count[top:bottom, left:right] += 1
    grid = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    colours = COLOUR_MAP(np.nan_to_num(grid, nan=0.5))[..., :3]
    base = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    mixed = np.where(np.isnan(grid)[..., None], base, base * (1 - alpha) + colours * alpha)
    out = Image.fromarray((mixed * 255 + 0.5).astype(np.uint8))
    if title is not None:
        out = with_legend(out, title)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def with_legend(picture: Image.Image, title: str) -> Image.Image:
    """``picture`` above a white band with ``title`` and the colour scale (P(AI) 0 to 1, ticks every 0.25)."""
    from PIL import ImageDraw, ImageFont

    width = max(picture.width, 360)
    size = max(12, min(22, width // 40))
    font = ImageFont.load_default(size=size)
    pad, bar_h = size // 2, size
    band_h = pad + size + pad + bar_h + pad // 2 + size + pad
    canvas = Image.new("RGB", (width, picture.height + band_h), "white")
    canvas.paste(picture, ((width - picture.width) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    y = picture.height + pad
    draw.text((pad, y), title, fill=(20, 20, 20), font=font)
    y += size + pad
    left, right = pad + 4 * size, width - 2 * pad
    ramp = COLOUR_MAP(np.linspace(0.0, 1.0, right - left))[:, :3]
    bar = Image.fromarray((np.repeat(ramp[None], bar_h, axis=0) * 255).astype(np.uint8))
    canvas.paste(bar, (left, y))
    draw.text((pad, y), "P(AI)", fill=(20, 20, 20), font=font)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + round(tick * (right - left - 1))
        draw.line([(x, y + bar_h), (x, y + bar_h + pad // 2)], fill=(20, 20, 20))
        label = f"{tick:g}" + (" real" if tick == 0 else " AI" if tick == 1 else "")
        w = draw.textlength(label, font=font)
        draw.text((min(max(x - w / 2, left), right - w), y + bar_h + pad // 2), label, fill=(20, 20, 20), font=font)
    return canvas
