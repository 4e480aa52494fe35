"""Training augmentation that fights the dataset's format and size biases (shared/data/README.md):
both classes get the same random JPEG re-compression (quality 60-100; lossless sources almost
always, JPEG sources half the time), mild resizing and blur, then a random crop at native
resolution and a horizontal flip."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageFilter

from sentry_image.engine.decode import sniff_format


def jpeg_roundtrip(img: Image.Image, quality: int) -> Image.Image:
    """Re-encode ``img`` as JPEG at ``quality`` and decode it again."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def random_crop(img: Image.Image, size: int, rng: random.Random) -> Image.Image:
    """A ``size`` x ``size`` crop at a random position; smaller images are mirror-padded first."""
    w, h = img.size
    if w < size or h < size:
        canvas = Image.new("RGB", (max(w, size), max(h, size)))
        for ox in range(0, canvas.width, w):
            for oy in range(0, canvas.height, h):
                tile = img
                if (ox // w) % 2:
                    tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                if (oy // h) % 2:
                    tile = tile.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
                canvas.paste(tile, (ox, oy))
        img, w, h = canvas, canvas.width, canvas.height
    x, y = rng.randint(0, w - size), rng.randint(0, h - size)
    return img.crop((x, y, x + size, y + size))


def augment(img: Image.Image, source_bytes: bytes, crop: int, rng: random.Random) -> Image.Image:
    """The training augmentation chain applied to one decoded image."""
    if rng.random() < 0.1:
        img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.2, 1.0)))
    if rng.random() < 0.15:
        scale = rng.uniform(0.75, 1.25)
        new = (max(32, round(img.width * scale)), max(32, round(img.height * scale)))
        img = img.resize(new, Image.Resampling.BILINEAR)
    lossless = sniff_format(source_bytes) != "JPEG"
    if rng.random() < (0.9 if lossless else 0.5):
        img = jpeg_roundtrip(img, rng.randint(60, 100))
    img = random_crop(img, crop, rng)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img
