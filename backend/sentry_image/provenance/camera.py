"""Camera traits: consistent camera EXIF (make, model, exposure, maker notes, thumbnail). Weak evidence
only — EXIF is trivially copied — and its absence says nothing."""

from __future__ import annotations

from PIL import ExifTags, Image

from sentry_image.provenance.evidence import REAL, Evidence

EXIF_IFD = 0x8769
EXPOSURE_TAGS = {0x829A: "ExposureTime", 0x829D: "FNumber", 0x8827: "ISO", 0x920A: "FocalLength"}
MAKER_NOTE = 0x927C


def analyze_camera(exif: Image.Exif, fields: dict[str, str]) -> list[Evidence]:
    """A weak 'camera capture' hint when make, model and exposure settings are all present."""
    if not ("Make" in fields and "Model" in fields):
        return []
    sub = exif.get_ifd(EXIF_IFD)
    exposure = [name for tag, name in EXPOSURE_TAGS.items() if tag in sub]
    if len(exposure) < 2:
        return []
    extras = []
    if MAKER_NOTE in sub:
        extras.append("maker notes")
    if exif.get_ifd(ExifTags.IFD.IFD1):  # IFD1 describes the embedded thumbnail
        extras.append("thumbnail")
    detail = f"camera EXIF from {fields['Make']} {fields['Model']} with {', '.join(exposure)}"
    if extras:
        detail += " and " + ", ".join(extras)
    return [Evidence("camera", "camera_exif", "weak", REAL, detail + " (easily copied, so weak evidence)")]
