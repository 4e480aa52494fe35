"""Invisible DWT-DCT watermarks embedded by the Stable Diffusion reference pipelines, decoded with the
invisible-watermark package.

Known messages: SD 1.x scripts embed the bytes "StableDiffusionV1", SD 2.x "SDV2", and the SDXL /
diffusers pipelines the 48-bit pattern below. A decoded message matching one of them at 90% of bits
or more is reported; the bits are always reported. Detection needs images of at least 256x256 pixels
and survives mild JPEG re-encoding (see tests/test_watermark.py for where it stops).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from sentry_image.provenance.evidence import AI, Evidence

SDXL_BITS = [int(b) for b in format(0b101100111110110010010000011110111011000110011110, "048b")]


def _bits_of(text: bytes) -> list[int]:
    return [int(b) for byte in text for b in format(byte, "08b")]


KNOWN_MARKS: dict[str, list[int]] = {
    "Stable Diffusion XL / diffusers": SDXL_BITS,
    "Stable Diffusion 1.x": _bits_of(b"StableDiffusionV1"),
    "Stable Diffusion 2.x": _bits_of(b"SDV2"),
}
MATCH_AT = 0.9
MIN_SIDE = 256
MAX_PIXELS = 16_000_000


def decode_bits(img: Image.Image, length: int) -> list[int]:
    """The ``length`` watermark bits the dwtDct decoder reads from ``img``."""
    from imwatermark import WatermarkDecoder  # imported here: OpenCV needs system libraries (libGL)

    bgr = np.asarray(img.convert("RGB"))[:, :, ::-1].copy()
    decoded = WatermarkDecoder("bits", length).decode(bgr, "dwtDct")
    return [int(bool(b)) for b in decoded]


def analyze_watermark(img: Image.Image) -> list[Evidence]:
    """Evidence when a known generator watermark is found; nothing otherwise."""
    if min(img.size) < MIN_SIDE or img.width * img.height > MAX_PIXELS:
        return []
    for name, pattern in KNOWN_MARKS.items():
        bits = decode_bits(img, len(pattern))
        agreement = sum(a == b for a, b in zip(bits, pattern, strict=True)) / len(pattern)
        if agreement >= MATCH_AT:
            shown = "".join(map(str, bits))
            return [
                Evidence(
                    "watermark",
                    "watermark:stable-diffusion",
                    "strong",
                    AI,
                    f"invisible watermark of {name} found ({agreement:.0%} of {len(pattern)} bits match; "
                    f"bits {shown[:48]}{'…' if len(shown) > 48 else ''})",
                )
            ]
    return []
