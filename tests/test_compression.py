"""The compression-state reader on files of known coding: JPEG at known qualities and chroma
subsamplings (also from a foreign encoder's tables and as grayscale), lossless and lossy WebP,
PNG/GIF/BMP/TIFF, and junk; and that results carry it."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image

from conftest import auth, encode, photo_like
from sentry_image.engine.compression import compression_state, estimate_jpeg_quality

PHOTO = photo_like(np.random.default_rng(3), 64)


@pytest.mark.parametrize("quality", [10, 35, 50, 68, 75, 85, 90, 95, 100])
@pytest.mark.parametrize(("subsampling", "name"), [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_jpeg_quality_and_subsampling(quality: int, subsampling: int, name: str) -> None:
    state = compression_state(encode(PHOTO, "JPEG", quality=quality, subsampling=subsampling))
    assert state.state == "jpeg" and state.format == "JPEG" and not state.lossless
    assert state.jpeg_quality == quality
    assert state.chroma_subsampling == name


def test_grayscale_jpeg() -> None:
    state = compression_state(encode(PHOTO.convert("L"), "JPEG", quality=80))
    assert (state.jpeg_quality, state.chroma_subsampling) == (80, "grayscale")


def test_non_ijg_tables_get_the_nearest_quality() -> None:
    # A camera-style flat table of 2s is between IJG q90 (2-5) and q100 (all 1s); 3s is lower.
    assert 90 <= estimate_jpeg_quality([2] * 64) < 100
    assert estimate_jpeg_quality([3] * 64) < estimate_jpeg_quality([2] * 64)
    custom = {0: [2] * 64, 1: [3] * 64}
    state = compression_state(encode(PHOTO, "JPEG", qtables=custom, subsampling=0))
    assert state.jpeg_quality == estimate_jpeg_quality([2] * 64)


@pytest.mark.parametrize(
    ("fmt", "kwargs", "expected"),
    [
        ("PNG", {}, "lossless"),
        ("WEBP", {"lossless": True}, "lossless"),
        ("WEBP", {"quality": 80}, "lossy-webp"),
        ("GIF", {}, "lossless"),
        ("BMP", {}, "lossless"),
        ("TIFF", {}, "lossless"),
    ],
)
def test_other_formats(fmt: str, kwargs: dict, expected: str) -> None:
    state = compression_state(encode(PHOTO, fmt, **kwargs))
    assert (state.state, state.format) == (expected, fmt)
    assert state.jpeg_quality is None and state.chroma_subsampling is None
    assert state.to_dict()["lossless"] is (expected == "lossless")


def test_lossy_webp_with_alpha_is_lossy() -> None:
    rgba = PHOTO.convert("RGBA")
    rgba.putalpha(128)
    assert compression_state(encode(rgba, "WEBP", quality=70)).state == "lossy-webp"


def test_animated_webp_reports_its_first_frame() -> None:
    frames = [PHOTO, PHOTO.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert b"ANMF" in data
    assert compression_state(data).state == "lossless"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\xff\xd8\xff\xe0" + b"\x00" * 10,  # a JPEG header and nothing else
        b"RIFF" + struct.pack("<I", 4) + b"WEBP" + b"VP8X" + struct.pack("<I", 0xFFFFFFF0),  # chunk past the end
    ],
)
def test_broken_or_foreign_bytes_never_raise(data: bytes) -> None:
    state = compression_state(data)
    assert state.state in ("jpeg", "unknown")
    assert state.jpeg_quality is None


def test_results_carry_the_compression_state(client) -> None:
    body = encode(PHOTO, "JPEG", quality=90, subsampling=2)
    res = client.post("/api/v1/detect", data=body, headers=auth({"Content-Type": "image/jpeg"}))
    assert res.status_code == 200, res.get_json()
    comp = res.get_json()["results"][0]["compression"]
    assert comp == {
        "state": "jpeg",
        "format": "JPEG",
        "jpeg_quality": 90,
        "chroma_subsampling": "4:2:0",
        "lossless": False,
    }
