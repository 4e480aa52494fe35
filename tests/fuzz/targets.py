"""Fuzz targets: each takes untrusted input and either succeeds or fails the way the product promises.
Anything else raised here is a crash. Used by tests/test_fuzz.py (hypothesis) and by the regression
files in tests/fuzz/regressions/."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import tempfile
from pathlib import Path

from PIL import Image
from werkzeug.exceptions import HTTPException

from sentry_image.engine.compression import compression_state
from sentry_image.engine.decode import decode_image
from sentry_image.engine.jpeg_data import check_jpeg_data
from sentry_image.errors import ModelError, SentryError
from sentry_image.provenance.analyze import analyze_provenance
from sentry_image.provenance.camera import analyze_camera
from sentry_image.provenance.content_credentials import analyze_c2pa
from sentry_image.provenance.evidence import Evidence
from sentry_image.provenance.generator_metadata import (
    analyze_exif_generator,
    analyze_png_text,
    exif_strings,
    png_exif,
)
from sentry_image.provenance.iptc_iim import analyze_iptc_iim
from sentry_image.provenance.watermark import analyze_watermark
from sentry_image.provenance.xmp import analyze_xmp
from sentry_image.registry.card import CARD_FILE, read_card

# What a parser may raise on garbage: the reader's own complaint, never a programming error
# (TypeError, KeyError, IndexError, AttributeError, RecursionError... are crashes).
PARSE_ERRORS = (SentryError, ValueError, OSError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)
STRENGTHS = {"conclusive", "strong", "moderate", "weak", "none"}
DIRECTIONS = {"ai", "real", "neutral"}
MAX_PIXELS = 4_000_000  # fuzzed headers may claim huge sizes; the cap is part of what is tested


def _check_evidence(items: list[Evidence]) -> None:
    assert isinstance(items, list)
    for e in items:
        assert isinstance(e, Evidence) and e.strength in STRENGTHS and e.direction in DIRECTIONS, e
        assert isinstance(e.detail, str) and isinstance(e.signal, str)


def decode(data: bytes) -> None:
    """Decode: an RGB image within the pixel cap, or a SentryError (ImageDecodeError/ImageTooLargeError)."""
    try:
        img = decode_image(data, max_pixels=MAX_PIXELS)
    except SentryError:
        return
    assert img.mode == "RGB" and 0 < img.width * img.height <= MAX_PIXELS


def headers(data: bytes) -> None:
    """Header readers: the compression state and the JPEG data check never raise."""
    state = compression_state(data)
    assert state.state in ("jpeg", "lossless", "lossy-webp", "lossy-other", "unknown")
    check = check_jpeg_data(data)
    assert check is None or (check.coded_bytes >= 0 and (check.needed_bytes or 0) >= 0)


def _opened(data: bytes) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(data))
        img.info  # noqa: B018
        return img
    except PARSE_ERRORS:
        return None


def _call(fn, *args) -> None:  # noqa: ANN001
    with contextlib.suppress(PARSE_ERRORS):
        _check_evidence(fn(*args))


def analyzers(data: bytes) -> None:
    """Each metadata analyzer on its own (their parse errors are allowed: the caller reports them)."""
    img = _opened(data)
    if img is None:
        return
    info = dict(img.info)
    try:
        exif = png_exif(data) if img.format == "PNG" else img.getexif()
    except PARSE_ERRORS:
        exif = Image.Exif()
    try:
        fields = exif_strings(exif)
    except PARSE_ERRORS:
        fields = {}
    _call(analyze_png_text, info)
    _call(analyze_exif_generator, fields)
    _call(analyze_xmp, data, info)
    _call(analyze_iptc_iim, img)
    _call(analyze_camera, exif, fields)


def watermark(data: bytes) -> None:
    """The watermark decoder on whatever decodes."""
    try:
        img = decode_image(data, max_pixels=MAX_PIXELS)
    except SentryError:
        return
    _check_evidence(analyze_watermark(img))


def c2pa_reader(data: bytes) -> None:
    """The C2PA reader never raises: unreadable manifests become evidence."""
    _check_evidence(analyze_c2pa(data))


def provenance(data: bytes) -> None:
    """Everything together: analyze_provenance never raises."""
    _check_evidence(analyze_provenance(data))


BYTE_TARGETS = {
    "decode": decode,
    "headers": headers,
    "analyzers": analyzers,
    "watermark": watermark,
    "c2pa": c2pa_reader,
    "provenance": provenance,
}


def request_parsers(app, config, content_type: str | None, body: bytes) -> None:  # noqa: ANN001
    """The /detect request parsers on one raw request: items or a SentryError / HTTP 4xx."""
    from sentry_image.service.app import _collect_items

    headers = {"Content-Type": content_type} if content_type is not None else {}
    with app.test_request_context("/api/v1/detect", method="POST", data=body, headers=headers):
        try:
            items = _collect_items(config)
        except SentryError:
            return
        except HTTPException as exc:
            assert exc.code is not None and 400 <= exc.code < 500, exc
            return
    assert 0 < len(items) <= config.max_batch
    for item in items:
        assert item.url is None or (isinstance(item.url, str) and item.data is None)
        assert item.url is not None or item.data is not None or item.error is not None
        assert item.data is None or len(item.data) <= config.max_bytes


def json_endpoints(client, body: bytes) -> None:  # noqa: ANN001
    """JSON endpoints answer a JSON error (4xx) or success, never a server error."""
    for path, method in (("/api/v1/pair", "post"), ("/api/v1/models/active", "put"), ("/api/v1/detect", "post")):
        r = getattr(client, method)(path, data=body, content_type="application/json")
        assert r.status_code < 500 or r.get_json()["error"]["code"] == "no_model", (path, r.status_code, r.data[:200])
        assert r.is_json and "error" in r.get_json() or r.status_code == 200


def model_card(text: bytes) -> None:
    """The model card loader: a valid card or a ModelError."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / CARD_FILE).write_bytes(text)
        try:
            card = read_card(Path(tmp))
        except ModelError:
            return
        assert isinstance(card, dict) and isinstance(card["id"], str)
        json.dumps(card)
