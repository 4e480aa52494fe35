"""Decoding untrusted bytes: formats, orientation, and every bad-input case."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import encode, photo_like
from sentry_image.engine.decode import decode_image, sniff_format
from sentry_image.errors import ImageDecodeError, ImageTooLargeError


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_decodes_supported_formats_to_rgb(fmt: str) -> None:
    img = photo_like(np.random.default_rng(1), 64)
    out = decode_image(encode(img, fmt))
    assert out.mode == "RGB" and out.size == (64, 64)
    assert sniff_format(encode(img, fmt)) == fmt


def test_gif_first_frame_is_used() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    r, g, b = out.getpixel((5, 5))
    assert r > 200 and b < 50


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (80, 40), (220, 20, 30))
    img.paste((20, 30, 220), (40, 0, 80, 40))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW when displayed: the left half ends up on top
    data = encode(img, "JPEG", exif=exif.tobytes())
    upright = decode_image(data)
    assert upright.size == (40, 80)
    top, bottom = upright.getpixel((20, 10)), upright.getpixel((20, 70))
    assert top[0] > 180 and top[2] < 80 and bottom[2] > 180 and bottom[0] < 80, (top, bottom)
    assert 0x0112 not in upright.getexif()  # applied once, not again by whoever reads the tag later


def test_transparent_png_is_flattened_on_white() -> None:
    img = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    assert decode_image(encode(img)).getpixel((0, 0)) == (255, 255, 255)


def test_corrupt_bytes_are_refused_clearly() -> None:
    with pytest.raises(ImageDecodeError, match="not a supported image"):
        decode_image(b"this is not an image at all" * 10)


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_refused(fmt: str) -> None:
    data = encode(photo_like(np.random.default_rng(2), 128), fmt)
    with pytest.raises(ImageDecodeError, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A 1-bit PNG of 20000 x 20000 pixels compresses to a few kB.
    bomb = encode(Image.new("1", (20000, 20000)), "PNG", optimize=True)
    assert len(bomb) < 200_000
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(bomb)


def test_pixel_cap_is_configurable() -> None:
    data = encode(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageTooLargeError):
        decode_image(data, max_pixels=9_999)
    assert decode_image(data, max_pixels=10_000).size == (100, 100)


def test_svg_and_html_are_not_images() -> None:
    for payload in (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", b"<!doctype html><html></html>"):
        with pytest.raises(ImageDecodeError):
            decode_image(payload)
        assert sniff_format(payload) is None
