"""Invisible DWT-DCT watermarks embedded by the Stable Diffusion reference pipelines (the
invisible-watermark package's ``dwtDct`` method).

The decoder follows the package's own: OpenCV's YUV conversion, Haar DWT of the U channel, then one
bit per 4x4 block of approximation coefficients. The colour conversion and the per-block rule are
done here with numpy (all blocks at once), because the package cannot be imported without PyTorch (its
``__init__`` loads the RivaGAN model code) and the bundled app has neither PyTorch nor OpenCV;
``tests/test_watermark.py`` checks the bits against the package's decoder.

Known messages: SD 1.x scripts embed the bytes "StableDiffusionV1", SD 2.x "SDV2", and the SDXL /
diffusers pipelines the 48-bit pattern below. A decoded message matching one of them at 90% of bits
or more is reported; the bits are always reported. Detection needs images of at least 256x256 pixels
and survives mild JPEG re-encoding (see tests/test_watermark.py for where it stops).

The check costs about 5 ns of CPU per pixel (5.0 ms for 1024² on the 2-core CI machine; about 45 with
PyWavelets' full transform), and it has a pixel budget (``MAX_PIXELS``, 2048 x 2048: above the reference
pipelines' output sizes). A larger image is reported as "not checked" rather than paid for; the
watermark does not survive resizing, so a downscaled check would find nothing.
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


U_SCALE = 36  # the reference pipelines' dwtDct setting for U (the library's default; Y's scale 0 is skipped)
HAAR = np.float64(0.7071067811865476)  # the Haar filter tap, 1/sqrt(2) as PyWavelets stores it (a float64
# scalar, so that 8-bit and float32 channels are both multiplied in float64)


def block_scores(img: Image.Image) -> list[np.ndarray]:
    """Per-block watermark scores of each marked chroma channel, in the decoder's block order.

    The package's decoder reads channels 0 and 1 of YUV with scales (0, 36): only U carries the mark.
    The scores do not depend on the message length, so one pass serves every known message; the
    per-block rule is the package's own, vectorised (``_block_bits``).
    """
    rows, cols = img.height // 4 * 4, img.width // 4 * 4
    rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    u = chroma_u(rgb[:rows, :cols])
    return [_block_bits(haar_approximation(u), U_SCALE)]


def haar_approximation(channel: np.ndarray) -> np.ndarray:
    """The approximation coefficients of a one-level 2-D Haar DWT (``pywt.dwt2(x, "haar")[0]``), bit for
    bit: rows first, then columns, each a sum of two products with 1/sqrt(2) in float64. PyWavelets
    also computes the three detail bands the decoder never reads; this is about 25 times faster. The
    channel (8-bit, or whole numbers in float32) is widened to float64 exactly inside the products."""
    rows = channel[0::2] * HAAR + channel[1::2] * HAAR
    return rows[:, 0::2] * HAAR + rows[:, 1::2] * HAAR


# OpenCV's 14-bit fixed point (Y = (4899 R + 9617 G + 1868 B + 2^13) >> 14, U = ((B - Y) 8061 + 2^21 + 2^13)
# >> 14, V likewise with R and 14369), with the shifts folded into the weights: each weight times 2^-14
# is exact in float32, and so is every product and sum below (whole multiples of 2^-14 under 2^9).
Y_WEIGHTS = np.array([4899, 9617, 1868], np.float32) / np.float32(1 << 14)
U_WEIGHT = np.float32(8061 / (1 << 14))
V_WEIGHT = np.float32(14369 / (1 << 14))
HALF = np.float32(0.5)
CHROMA_OFFSET = np.float32(128.5)


def _y_u(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, G, B as float32, and Y and U (unclipped) exactly as OpenCV's fixed point computes them, in
    float32 (see the weights above; ``floor`` is the shift): faster than the same in int32."""
    x = rgb.astype(np.float32)
    y = x @ Y_WEIGHTS
    y += HALF
    np.floor(y, out=y)
    u = x[..., 2] - y
    u *= U_WEIGHT
    u += CHROMA_OFFSET
    np.floor(u, out=u)
    return x, y, u


def chroma_u(rgb: np.ndarray) -> np.ndarray:
    """The U channel of ``rgb_to_yuv`` alone (the one the watermark lives in): its 8-bit values, held in
    float32 for the Haar step."""
    u = _y_u(rgb)[2]
    return np.clip(u, 0, 255, out=u)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """8-bit RGB to 8-bit YUV exactly as OpenCV's ``cvtColor(bgr, COLOR_BGR2YUV)``, which the package's
    decoder uses (14-bit fixed point; equal on all 2^24 colours, ``tests/test_watermark.py``)."""
    x, y, u = _y_u(rgb)
    v = np.floor((x[..., 0] - y) * V_WEIGHT + CHROMA_OFFSET)
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
    """Aggregate block scores into ``length`` bits exactly as the library's decoder does: bit ``k`` is
    set when the mean of every ``length``-th score from ``k`` on, over all channels, is above 127/255.
    The scores are 0 or 1, so the sums are exact and equal to the library's means bit for bit."""
    sums = np.zeros(length)
    counts = np.zeros(length)
    for s in scores:
        slot = np.arange(len(s)) % length
        sums += np.bincount(slot, weights=s, minlength=length)
        counts += np.bincount(slot, minlength=length)
    means = np.divide(sums, counts, out=np.zeros(length), where=counts > 0)
    return [int(c > 0 and m * 255 > 127) for m, c in zip(means, counts, strict=True)]


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
