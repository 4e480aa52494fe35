"""Invisible DWT-DCT watermarks embedded by the Stable Diffusion reference pipelines (the
invisible-watermark package's ``dwtDct`` method).

The decoder follows the package's own: OpenCV's YUV conversion, Haar DWT of the chroma channels, then
one bit per 4x4 block of approximation coefficients. The colour conversion and the per-block rule are
done here with numpy (all blocks at once), because the package cannot be imported without PyTorch (its
``__init__`` loads the RivaGAN model code) and the bundled app has neither PyTorch nor OpenCV;
``tests/test_watermark.py`` checks the bits against the package's decoder.

Known messages: SD 1.x scripts embed the bytes "StableDiffusionV1", SD 2.x "SDV2", and the SDXL /
diffusers pipelines the 48-bit pattern below. A decoded message matching one of them at 90% of bits
or more is reported; the bits are always reported. Detection needs images of at least 256x256 pixels
and survives mild JPEG re-encoding (see tests/test_watermark.py for where it stops).

The check costs about 45 ns of CPU per pixel, so it has a pixel budget (``MAX_PIXELS``, 2048 x 2048:
above the reference pipelines' output sizes). A larger image is reported as "not checked" rather
than paid for; the watermark does not survive resizing, so a downscaled check would find nothing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from sentry_image.provenance.evidence import AI, NEUTRAL, Evidence

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
MAX_PIXELS = 2048 * 2048


SCALES = (0, 36, 36)  # the reference pipelines' dwtDct settings (the library's defaults)


def block_scores(img: Image.Image) -> list[np.ndarray]:
    """Per-block watermark scores of each marked chroma channel, in the decoder's block order.

    The scores do not depend on the message length, so one pass serves every known message; the
    per-block rule is the package's own, vectorised (``_block_bits``).
    """
    import pywt

    rows, cols = img.height, img.width
    yuv = rgb_to_yuv(np.asarray(img.convert("RGB")))
    out = []
    for channel in range(2):  # as the package's decoder: channels 0 and 1, skipping scale 0
        if SCALES[channel] <= 0:
            continue
        ca1, _ = pywt.dwt2(yuv[: rows // 4 * 4, : cols // 4 * 4, channel], "haar")
        out.append(_block_bits(ca1, SCALES[channel]))
    return out


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """8-bit RGB to 8-bit YUV exactly as OpenCV's ``cvtColor(bgr, COLOR_BGR2YUV)``, which the package's
    decoder uses (14-bit fixed point; equal on all 2^24 colours, ``tests/test_watermark.py``)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = (r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14
    u = ((b - y) * 8061 + (128 << 14) + (1 << 13)) >> 14
    v = ((r - y) * 14369 + (128 << 14) + (1 << 13)) >> 14
    return np.clip(np.stack([y, u, v], axis=-1), 0, 255).astype(np.uint8)


def _block_bits(coeffs: np.ndarray, scale: float, block: int = 4) -> np.ndarray:
    """One bit per ``block x block`` tile, row by row: the largest-magnitude coefficient other than the
    first, taken modulo ``scale``, is 1 above half the scale (``EmbedMaxDct.infer_dct_matrix``)."""
    nr, nc = coeffs.shape[0] // block, coeffs.shape[1] // block
    tiles = coeffs[: nr * block, : nc * block].reshape(nr, block, nc, block).transpose(0, 2, 1, 3)
    flat = tiles.reshape(nr * nc, block * block)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    values = np.abs(flat[np.arange(len(flat)), pos])
    return ((values % scale) > 0.5 * scale).astype(np.float64)


def bits_from_scores(scores: list[np.ndarray], length: int) -> list[int]:
    """Aggregate block scores into ``length`` bits exactly as the library's decoder does."""
    bits = []
    for k in range(length):
        vals = np.concatenate([s[k::length] for s in scores])
        bits.append(int(vals.mean() * 255 > 127) if len(vals) else 0)
    return bits


def decode_bits(img: Image.Image, length: int) -> list[int]:
    """The ``length`` watermark bits the dwtDct decoder reads from ``img``."""
    return bits_from_scores(block_scores(img), length)


def analyze_watermark(img: Image.Image) -> list[Evidence]:
    """Evidence when a known generator watermark is found; a "not checked" note above the pixel budget;
    nothing otherwise."""
    if img.width * img.height > MAX_PIXELS:
        return [
            not_checked(
                f"image too large for the watermark check ({img.width}x{img.height}; it reads at most "
                f"{MAX_PIXELS / 1e6:.1f} megapixels)"
            )
        ]
    if min(img.size) < MIN_SIDE:
        return []
    scores = block_scores(img)
    for name, pattern in KNOWN_MARKS.items():
        bits = bits_from_scores(scores, len(pattern))
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


def not_checked(reason: str) -> Evidence:
    """The note that the watermark check was skipped, and why (never a claim either way)."""
    return Evidence("watermark", "not_checked", "none", NEUTRAL, f"not checked: {reason}")
