"""IPTC IIM (the legacy binary IPTC block in JPEG/TIFF): some tools put the IPTC digital source type
URI or term into IIM text datasets. Every dataset value is scanned for the vocabulary."""

from __future__ import annotations

from PIL import Image, IptcImagePlugin

from sentry_image.provenance.evidence import Evidence
from sentry_image.provenance.xmp import SOURCE_TYPE_URI, SOURCE_TYPES


def analyze_iptc_iim(img: Image.Image) -> list[Evidence]:
    """Evidence for digital source types named in IIM datasets."""
    info = IptcImagePlugin.getiptcinfo(img) or {}
    out, seen = [], set()
    for (record, dataset), raw in info.items():
        values = raw if isinstance(raw, list) else [raw]
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            m = SOURCE_TYPE_URI.search(text)
            term = m.group(1) if m else text.strip()
            if term in SOURCE_TYPES and term not in seen:
                seen.add(term)
                direction, strength, desc = SOURCE_TYPES[term]
                out.append(
                    Evidence(
                        "iptc",
                        f"digital_source_type:{term}",
                        strength,
                        direction,
                        f"IPTC IIM {record}:{dataset} (unsigned) says the image was {desc} ({term})",
                    )
                )
    return out


__all__ = ["analyze_iptc_iim"]
