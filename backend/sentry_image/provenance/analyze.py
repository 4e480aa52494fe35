"""Run every provenance analyzer over an image file's bytes. A broken part of the file becomes an
``analyzer_error`` evidence item; it never raises and never loses the result."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from PIL import Image

from sentry_image.engine.decode import decode_image
from sentry_image.provenance.camera import analyze_camera
from sentry_image.provenance.content_credentials import analyze_c2pa
from sentry_image.provenance.evidence import Evidence, analyzer_error
from sentry_image.provenance.generator_metadata import (
    analyze_exif_generator,
    analyze_png_text,
    exif_strings,
    png_exif,
)
from sentry_image.provenance.iptc_iim import analyze_iptc_iim
from sentry_image.provenance.watermark import analyze_watermark, not_checked
from sentry_image.provenance.xmp import analyze_xmp


def _guarded(source: str, fn: Callable[[], list[Evidence]]) -> list[Evidence]:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - any analyzer failure is reported, never raised
        return [analyzer_error(source, exc)]


def analyze_provenance(
    data: bytes, image: Image.Image | None = None, cpu_deadline: float | None = None
) -> list[Evidence]:
    """All evidence found in the file (metadata, Content Credentials, watermark), strongest first.

    ``image`` is the already decoded RGB image, when the caller has it (saves a second decode).
    ``cpu_deadline`` is a ``time.thread_time()`` value: once this thread has used that much CPU, the
    watermark check (the one analysis whose cost grows with the pixels) is skipped and said so."""
    try:
        img = Image.open(io.BytesIO(data))
        info = dict(img.info)
        exif = png_exif(data) if img.format == "PNG" else img.getexif()
    except Exception as exc:  # noqa: BLE001
        return [analyzer_error("container", exc)]
    fields: dict[str, str] = {}

    def read_fields() -> list[Evidence]:
        fields.update(exif_strings(exif))
        return analyze_exif_generator(fields)

    evidence: list[Evidence] = []
    evidence += _guarded("png_text", lambda: analyze_png_text(info) if img.format == "PNG" else [])
    evidence += _guarded("exif", read_fields)
    evidence += _guarded("xmp", lambda: analyze_xmp(data, info))
    evidence += _guarded("iptc", lambda: analyze_iptc_iim(img) if img.format in ("JPEG", "TIFF") else [])
    evidence += _guarded("camera", lambda: analyze_camera(exif, fields))
    evidence += _guarded("c2pa", lambda: analyze_c2pa(data))
    if cpu_deadline is not None and time.thread_time() > cpu_deadline:
        evidence.append(not_checked("this image's CPU budget was spent before the watermark check"))
    else:
        evidence += _guarded("watermark", lambda: analyze_watermark(image or decode_image(data)))
    order = {"conclusive": 0, "strong": 1, "moderate": 2, "weak": 3, "none": 4}
    return sorted(evidence, key=lambda e: order.get(e.strength, 5))
