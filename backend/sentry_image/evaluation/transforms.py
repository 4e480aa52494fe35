"""Image transforms for the robustness sweep and the format-matched protocol."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

from sentry_image.engine.compression import CompressionState

Transform = Callable[[Image.Image], Image.Image]


def reencode(fmt: str, quality: int) -> Transform:
    """Re-encode as JPEG or WebP at ``quality`` and decode again. The transform's ``compression`` is the
    state of the file it makes (Pillow's JPEG default is 4:2:0), which fused models are given."""

    def apply(img: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        img.save(buf, format=fmt, quality=quality)
        buf.seek(0)
        out = Image.open(buf)
        out.load()
        return out.convert("RGB")

    if fmt == "JPEG":
        apply.compression = CompressionState("jpeg", "JPEG", quality, "4:2:0")  # type: ignore[attr-defined]
    else:
        apply.compression = CompressionState("lossy-webp", "WEBP")  # type: ignore[attr-defined]
    return apply


def resize(factor: float) -> Transform:
    """Resize both sides by ``factor`` (bicubic)."""

    def apply(img: Image.Image) -> Image.Image:
        size = (max(16, round(img.width * factor)), max(16, round(img.height * factor)))
        return img.resize(size, Image.Resampling.BICUBIC)

    return apply


def center_crop(fraction: float) -> Transform:
    """Keep the central ``fraction`` of each side."""

    def apply(img: Image.Image) -> Image.Image:
        w, h = round(img.width * fraction), round(img.height * fraction)
        left, top = (img.width - w) // 2, (img.height - h) // 2
        return img.crop((left, top, left + w, top + h))

    return apply


ROBUSTNESS: dict[str, Transform] = {
    "jpeg95": reencode("JPEG", 95),
    "jpeg75": reencode("JPEG", 75),
    "jpeg50": reencode("JPEG", 50),
    "webp80": reencode("WEBP", 80),
    "resize0.5": resize(0.5),
    "crop0.5": center_crop(0.5),
}
# Format-matched protocol: every image, real or AI, goes through the same JPEG q90 encoder, so the file
# format (AI images are mostly lossless, photos mostly JPEG) cannot be what the detector keys on.
FORMAT_MATCHED: Transform = reencode("JPEG", 90)
