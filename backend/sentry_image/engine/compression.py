"""Compression state read from an image file's bytes: JPEG (estimated quality, chroma subsampling),
lossless (PNG, lossless WebP, GIF, BMP, TIFF) or other lossy coding (lossy WebP, HEIC/AVIF).

JPEG erases the up-sampling traces that the artifact expert looks for, and the training data's real
photos are mostly JPEG while its AI images are mostly lossless; so every result says what the file's
compression was, and evaluation breaks its numbers down by it.
"""

from __future__ import annotations

import io
import struct
from dataclasses import asdict, dataclass

from PIL import Image

from sentry_image.engine.decode import OPENABLE_FORMATS, sniff_format

# The IJG (libjpeg) standard luminance table (ITU-T T.81 Annex K); file tables are compared with it
# after sorting, so the order a decoder reports them in (zig-zag or natural) does not matter.
_IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip

LOSSLESS_FORMATS = ("PNG", "GIF", "BMP", "TIFF")
STATES = ("jpeg", "lossless", "lossy-webp", "lossy-other", "unknown")


@dataclass(frozen=True)
class CompressionState:
    """How the pixels were stored. ``state`` is one of ``STATES``."""

    state: str
    format: str | None
    jpeg_quality: int | None = None  # estimated, on the IJG 1-100 scale
    chroma_subsampling: str | None = None  # "4:4:4", "4:2:2", "4:2:0", "4:4:0", "4:1:1", "grayscale", "other"

    @property
    def lossless(self) -> bool:
        """True when no lossy coding touched the stored pixels."""
        return self.state == "lossless"

    def to_dict(self) -> dict[str, object]:
        """The JSON form used in results."""
        return {**asdict(self), "lossless": self.lossless}


UNKNOWN = CompressionState("unknown", None)


def _scaled_table(quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (v * scale + 50) // 100)) for v in _IJG_LUMINANCE]


_SORTED_TABLES = {q: sorted(_scaled_table(q)) for q in range(1, 101)}


def estimate_jpeg_quality(luminance_table: list[int]) -> int:
    """The IJG quality (1-100) whose scaled luminance table is closest to ``luminance_table``."""
    table = sorted(int(v) for v in luminance_table)
    return min(range(100, 0, -1), key=lambda q: sum(abs(a - b) for a, b in zip(table, _SORTED_TABLES[q], strict=True)))


def _subsampling(layers: list[tuple]) -> str:
    if len(layers) == 1:
        return "grayscale"
    if len(layers) < 3:
        return "other"
    (_, yh, yv, *_), (_, ch, cv, *_) = layers[0], layers[1]
    if 0 in (yh, yv, ch, cv):  # invalid factors (the decoder refuses such a file)
        return "other"
    if any((h, v) != (ch, cv) for _, h, v, *_ in layers[1:3]) or yh % ch or yv % cv:
        return "other"
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}.get(
        (yh // ch, yv // cv), "other"
    )


def _jpeg_state(data: bytes) -> CompressionState:
    try:
        with Image.open(io.BytesIO(data), formats=OPENABLE_FORMATS) as img:
            tables = getattr(img, "quantization", None) or {}
            layers = list(getattr(img, "layer", []) or [])
    except Exception:  # noqa: BLE001 - a header Pillow cannot read still says "JPEG"
        return CompressionState("jpeg", "JPEG")
    quality = estimate_jpeg_quality(list(tables[min(tables)])) if tables else None
    return CompressionState("jpeg", "JPEG", quality, _subsampling(layers) if layers else None)


def _webp_chunks(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        fourcc, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        yield fourcc, pos + 8, min(end, pos + 8 + size)
        pos += 8 + size + (size & 1)


def _webp_state(data: bytes) -> CompressionState:
    for fourcc, body, end in _webp_chunks(data, 12, len(data)):
        if fourcc == b"ANMF":  # animation: the first frame's coding (its header is 16 bytes)
            for inner, _, _ in _webp_chunks(data, body + 16, end):
                if inner in (b"VP8L", b"VP8 "):
                    fourcc = inner
                    break
        if fourcc == b"VP8L":
            return CompressionState("lossless", "WEBP")
        if fourcc == b"VP8 ":
            return CompressionState("lossy-webp", "WEBP")
    return CompressionState("unknown", "WEBP")


def compression_state(data: bytes) -> CompressionState:
    """The compression state of an encoded image, from its bytes (headers only; nothing is decoded)."""
    fmt = sniff_format(data)
    if fmt == "JPEG":
        return _jpeg_state(data)
    if fmt == "WEBP":
        return _webp_state(data)
    if fmt in LOSSLESS_FORMATS:
        return CompressionState("lossless", fmt)
    if fmt == "HEIF":
        return CompressionState("lossy-other", fmt)
    return CompressionState("unknown", fmt)
