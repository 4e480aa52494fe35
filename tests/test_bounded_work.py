"""Work bounded by the data actually present: short JPEGs refused before decoding, pixel budgets on the
watermark check and the heatmap, a per-image CPU budget, and PNG metadata read without the pixels."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import auth, encode, photo_like
from sentry_image.engine.decode import decode_image
from sentry_image.engine.jpeg_data import check_jpeg_data
from sentry_image.errors import ImageDecodeError
from sentry_image.provenance.analyze import analyze_provenance
from sentry_image.provenance.generator_metadata import png_exif
from sentry_image.provenance.watermark import MAX_PIXELS, analyze_watermark


def claims_more_rows(progressive: bool) -> bytes:
    """The reported amplification case: a small JPEG whose frame header claims 288 x 45,344 pixels."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 288, 3), dtype=np.uint8))
    data = bytearray(encode(noise, "JPEG", quality=75, progressive=progressive))
    sof = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
    struct.pack_into(">H", data, sof + 5, 45344)
    return bytes(data)


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_promising_more_pixels_than_its_data_is_refused(progressive: bool) -> None:
    data = claims_more_rows(progressive)
    assert len(data) < 20_000
    check = check_jpeg_data(data)
    assert check is not None and check.short and (check.width, check.height) == (288, 45344)
    with pytest.raises(ImageDecodeError, match=r"truncated JPEG: its header promises 288x45344 pixels"):
        decode_image(data)


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("subsampling", [0, 1, 2])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_the_bound_never_refuses_a_valid_jpeg_even_the_cheapest(progressive: bool, subsampling: int, mode: str) -> None:
    # A flat image with optimised Huffman tables is the least coded data a valid JPEG can have.
    flat = Image.new(mode, (1000, 600), 255 if mode == "L" else (200, 100, 50))
    data = encode(flat, "JPEG", quality=1, optimize=True, progressive=progressive, subsampling=subsampling)
    check = check_jpeg_data(data)
    assert check is not None and not check.short and check.coded_bytes >= check.needed_bytes
    assert decode_image(data).size == (1000, 600)


def test_ordinary_photos_pass_with_room_to_spare() -> None:
    data = encode(photo_like(np.random.default_rng(3), 256), "JPEG", quality=90)
    check = check_jpeg_data(data)
    assert check is not None and check.coded_bytes > 2 * check.needed_bytes


def test_unreadable_jpeg_structure_is_left_to_the_decoder() -> None:
    assert check_jpeg_data(b"\xff\xd8\xff\xe0garbage") is None
    with pytest.raises(ImageDecodeError):
        decode_image(b"\xff\xd8\xff\xe0garbage")


def test_watermark_check_over_its_pixel_budget_says_not_checked() -> None:
    big = Image.new("RGB", (2100, 2100), (90, 90, 90))
    assert big.width * big.height > MAX_PIXELS
    (ev,) = analyze_watermark(big)
    assert ev.signal == "not_checked" and ev.strength == "none" and ev.direction == "neutral"
    assert ev.detail.startswith("not checked: image too large for the watermark check")
    assert analyze_watermark(Image.new("RGB", (2048, 2048), (90, 90, 90))) == []  # within budget: checked


def test_spent_cpu_budget_skips_the_watermark_check_and_says_so() -> None:
    data = encode(photo_like(np.random.default_rng(4), 300), "PNG")
    skipped = [e for e in analyze_provenance(data, cpu_deadline=0.0) if e.source == "watermark"]
    assert [e.signal for e in skipped] == ["not_checked"] and "CPU budget" in skipped[0].detail
    assert not [e for e in analyze_provenance(data, cpu_deadline=None) if e.source == "watermark"]


def _png_with_exif_after_pixels(software: str) -> bytes:
    plain = encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    exif = Image.Exif()
    exif[0x0131] = software
    body = exif.tobytes()[6:]  # without the "Exif\0\0" prefix, as eXIf chunks store it
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
    iend = plain.rindex(b"IEND") - 4
    return plain[:iend] + chunk + plain[iend:]


def test_png_exif_after_the_pixels_is_read_without_decoding_them() -> None:
    data = _png_with_exif_after_pixels("Adobe Firefly Image 3")
    assert png_exif(data)[0x0131] == "Adobe Firefly Image 3"
    assert "generator_exif:Software" in {e.signal for e in analyze_provenance(data)}
    assert dict(png_exif(encode(Image.new("RGB", (8, 8)), "PNG"))) == {}
    assert dict(png_exif(data[:40])) == {}  # cut short: nothing, no error


def test_service_reports_cpu_time_per_image(client) -> None:
    data = encode(photo_like(np.random.default_rng(5), 128), "JPEG")
    r = client.post("/api/v1/detect", data=data, headers=auth({"Content-Type": "image/jpeg"}))
    timings = r.get_json()["results"][0]["timings_ms"]
    assert timings["cpu"] > 0 and timings["cpu"] <= timings["total"] * 16  # CPU of one thread, not wall


def test_service_refuses_the_amplification_case_with_a_clear_error(client) -> None:
    r = client.post("/api/v1/detect", data=claims_more_rows(False), headers=auth({"Content-Type": "image/jpeg"}))
    assert r.status_code == 422
    err = r.get_json()["results"][0]["error"]
    assert err["code"] == "decode_error" and "truncated JPEG" in err["message"]


def test_heatmap_picture_is_drawn_at_screen_size(client) -> None:
    big = encode(photo_like(np.random.default_rng(6), 64).resize((3000, 1500)), "JPEG")
    r = client.post("/api/v1/heatmap", data=big, headers=auth({"Content-Type": "image/jpeg"}))
    assert r.status_code == 200 and Image.open(io.BytesIO(r.data)).size == (2048, 1024)
