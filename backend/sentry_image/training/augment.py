"""Training augmentation that fights the dataset's format and size biases (shared/data/README.md).

Two policies, named by the expert they train:

- ``semantic`` (the EfficientNet recipe): both classes get the same random JPEG re-compression
  (quality 60-100; lossless sources almost always, JPEG sources half the time), mild resizing and
  blur, so that the file format cannot be the cue;
- ``artifact`` (the native-resolution artifact expert): no resizing and no blur, which would erase
  the up-sampling traces it looks for, and JPEG q85-100 on only part of the samples, so that it keeps
  the lossless signal and learns what survives high-quality JPEG.

Both end with a random crop at native resolution and a horizontal flip."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

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


@dataclass(frozen=True)
class AugmentPolicy:
    """Probabilities and ranges of one augmentation policy."""

    blur: float
    resize: float
    jpeg_lossless: float  # chance of re-compressing a lossless source
    jpeg_lossy: float  # chance of re-compressing a JPEG source
    jpeg_quality: tuple[int, int]


POLICIES = {
    "semantic": AugmentPolicy(blur=0.1, resize=0.15, jpeg_lossless=0.9, jpeg_lossy=0.5, jpeg_quality=(60, 100)),
    "artifact": AugmentPolicy(blur=0.0, resize=0.0, jpeg_lossless=0.4, jpeg_lossy=0.4, jpeg_quality=(85, 100)),
}


def augment(
    img: Image.Image, source_bytes: bytes, crop: int, rng: random.Random, policy: str = "semantic"
) -> Image.Image:
    """The training augmentation chain of ``policy`` applied to one decoded image."""
    pol = POLICIES[policy]
    if rng.random() < pol.blur:
        img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.2, 1.0)))
    if rng.random() < pol.resize:
        scale = rng.uniform(0.75, 1.25)
        new = (max(32, round(img.width * scale)), max(32, round(img.height * scale)))
        img = img.resize(new, Image.Resampling.BILINEAR)
    lossless = sniff_format(source_bytes) != "JPEG"
    if rng.random() < (pol.jpeg_lossless if lossless else pol.jpeg_lossy):
        img = jpeg_roundtrip(img, rng.randint(*pol.jpeg_quality))
    img = random_crop(img, crop, rng)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img
