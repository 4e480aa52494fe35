"""The Stable Diffusion invisible watermark, embedded with the real encoder and read back.

Where detection stops (measured here, also on real photos from shared/data): the dwtDct mark lives in
the chroma channels, so it survives JPEG q90 re-encoding with full-resolution chroma (4:4:4) but is
lost at q90 with 4:2:0 chroma subsampling, which most encoders use by default; even q95 4:2:0 is
hit-and-miss. Resizing also destroys it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from imwatermark import WatermarkEncoder
from PIL import Image

from conftest import photo_like
from sentry_image.provenance.watermark import KNOWN_MARKS, SDXL_BITS, analyze_watermark

BASE = photo_like(np.random.default_rng(0), 512)


def embed(img: Image.Image, bits: list[int]) -> Image.Image:
    enc = WatermarkEncoder()
    enc.set_watermark("bits", bits)
    return Image.fromarray(enc.encode(np.asarray(img)[:, :, ::-1].copy(), "dwtDct")[:, :, ::-1].copy())


def jpeg(img: Image.Image, quality: int, subsampling: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    return Image.open(buf).convert("RGB")


@pytest.mark.parametrize("name", list(KNOWN_MARKS))
def test_each_known_mark_is_detected(name: str) -> None:
    (ev,) = analyze_watermark(embed(BASE, KNOWN_MARKS[name]))
    assert ev.signal == "watermark:stable-diffusion" and name in ev.detail and ev.direction == "ai"


def test_survives_jpeg_q90_with_full_chroma() -> None:
    assert analyze_watermark(jpeg(embed(BASE, SDXL_BITS), 90, subsampling=0))


def test_where_detection_stops() -> None:
    marked = embed(BASE, SDXL_BITS)
    assert not analyze_watermark(jpeg(marked, 90, subsampling=2))  # 4:2:0 chroma
    assert not analyze_watermark(marked.resize((384, 384), Image.Resampling.BICUBIC))


def test_unmarked_images_give_no_evidence() -> None:
    for seed in range(5):
        assert analyze_watermark(photo_like(np.random.default_rng(100 + seed), 512)) == []


def test_small_images_are_skipped() -> None:
    with pytest.raises(RuntimeError):  # the reference encoder itself refuses images this small
        embed(photo_like(np.random.default_rng(1), 128), SDXL_BITS)
    assert analyze_watermark(photo_like(np.random.default_rng(1), 128)) == []


@pytest.mark.parametrize(
    "image",
    [
        embed(BASE, KNOWN_MARKS["Stable Diffusion 1.x"]),
        jpeg(embed(BASE, SDXL_BITS), 90, 0),
        photo_like(np.random.default_rng(4), 300).crop((0, 0, 301 - 7, 263)),  # unmarked, odd size
    ],
    ids=["marked", "marked-jpeg", "unmarked-odd-size"],
)
def test_decoding_equals_the_library_decoder(image: Image.Image) -> None:
    from imwatermark import WatermarkDecoder

    from sentry_image.provenance.watermark import decode_bits

    bgr = np.asarray(image)[:, :, ::-1].copy()
    for length in (32, 48, 136):
        reference = [int(bool(b)) for b in WatermarkDecoder("bits", length).decode(bgr, "dwtDct")]
        assert decode_bits(image, length) == reference


def test_colour_conversion_equals_opencv_on_every_colour() -> None:
    cv2 = pytest.importorskip("cv2", reason="OpenCV comes with invisible-watermark (requirements-dev.txt)")
    from sentry_image.provenance.watermark import chroma_u, rgb_to_yuv

    grid = np.stack(np.meshgrid(np.arange(256), np.arange(256), np.arange(256), indexing="ij"), -1)
    rgb = grid.reshape(4096, 4096, 3).astype(np.uint8)
    yuv = rgb_to_yuv(rgb)
    assert np.array_equal(yuv, cv2.cvtColor(rgb[:, :, ::-1].copy(), cv2.COLOR_BGR2YUV))
    assert np.array_equal(chroma_u(rgb), yuv[..., 1])


@pytest.mark.parametrize("shape", [(512, 512), (260, 300), (2, 2)])
def test_haar_approximation_equals_pywavelets_bit_for_bit(shape: tuple[int, int]) -> None:
    import pywt  # comes with invisible-watermark (requirements-dev.txt)

    from sentry_image.provenance.watermark import haar_approximation

    channel = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.uint8)
    assert np.array_equal(haar_approximation(channel), pywt.dwt2(channel, "haar")[0])


@pytest.mark.parametrize("length", [1, 32, 48, 136, 999, 5000])
def test_bit_aggregation_equals_the_decoders_mean_rule(length: int) -> None:
    from sentry_image.provenance.watermark import bits_from_scores

    rng = np.random.default_rng(length)
    scores = [(rng.random(n) < rng.random()).astype(np.float64) for n in (4096, 1000)]
    reference = []  # the library's rule, one bit at a time
    for k in range(length):
        vals = np.concatenate([s[k::length] for s in scores])
        reference.append(int(vals.mean() * 255 > 127) if len(vals) else 0)
    assert bits_from_scores(scores, length) == reference
