"""IPTC digital source type from XMP packets (JPEG APP1, PNG iTXt, WebP XMP chunk, or anywhere in the
file as a raw packet). The vocabulary is IPTC's NewsCodes "digitalsourcetype"."""

from __future__ import annotations

import re

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from sentry_image.provenance.evidence import AI, NEUTRAL, REAL, Evidence, analyzer_error

MAX_XMP_BYTES = 2 * 1024 * 1024
PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
SOURCE_TYPE_URI = re.compile(r"digitalsourcetype/([A-Za-z]+)")

# value -> (direction, strength, description)
SOURCE_TYPES: dict[str, tuple[str, str, str]] = {
    "trainedAlgorithmicMedia": (AI, "strong", "created by a trained generative AI model"),
    "compositeWithTrainedAlgorithmicMedia": (AI, "strong", "a composite that includes generative-AI content"),
    "algorithmicMedia": (AI, "moderate", "created purely by an algorithm (not from a camera)"),
    "compositeSynthetic": (AI, "moderate", "a composite including synthetic elements"),
    "dataDrivenMedia": (AI, "moderate", "produced by a data-driven (AI) process"),
    "digitalCapture": (REAL, "weak", "captured by a digital camera"),
    "computationalCapture": (REAL, "weak", "captured by a camera with computational processing"),
    "negativeFilm": (REAL, "weak", "scanned from a film negative"),
    "positiveFilm": (REAL, "weak", "scanned from film"),
    "print": (REAL, "weak", "scanned from a print"),
    "humanEdits": (NEUTRAL, "none", "edited by a person"),
    "minorHumanEdits": (NEUTRAL, "none", "with minor human edits"),
    "compositeCapture": (REAL, "weak", "a composite of camera captures"),
    "algorithmicallyEnhanced": (NEUTRAL, "none", "algorithmically enhanced"),
    "digitalArt": (NEUTRAL, "none", "digital art made by a person"),
    "digitalCreation": (NEUTRAL, "none", "created digitally by a person"),
    "virtualRecording": (NEUTRAL, "none", "a recording of a virtual scene"),
    "screenCapture": (NEUTRAL, "none", "a screen capture"),
}


def find_xmp_packets(data: bytes, pil_info: dict | None = None) -> list[bytes]:
    """XMP packets in the file: those Pillow found in the container, then any raw packet in the bytes."""
    packets: list[bytes] = []
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = (pil_info or {}).get(key)
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, bytes) and value:
            packets.append(value)
    packets += [m.group(0) for m in PACKET.finditer(data)]
    return packets


def digital_source_types(packet: bytes) -> list[str]:
    """Every DigitalSourceType value in one packet (attribute or element form)."""
    if len(packet) > MAX_XMP_BYTES:
        raise ValueError(f"XMP packet of {len(packet):,} bytes is over the {MAX_XMP_BYTES:,}-byte limit")
    match = PACKET.search(packet)
    root = ElementTree.fromstring(match.group(0) if match else packet)
    found = []
    for el in root.iter():
        for key, value in el.attrib.items():
            if key == f"{{{IPTC_EXT}}}DigitalSourceType":
                found.append(value)
        if el.tag == f"{{{IPTC_EXT}}}DigitalSourceType" and el.text and el.text.strip():
            found.append(el.text.strip())
    return [m.group(1) for v in found if (m := SOURCE_TYPE_URI.search(v))] + [
        v for v in found if not SOURCE_TYPE_URI.search(v) and v in SOURCE_TYPES
    ]


def analyze_xmp(data: bytes, pil_info: dict | None = None) -> list[Evidence]:
    """Evidence from the XMP digital source type; nothing when there is none."""
    out: list[Evidence] = []
    seen: set[str] = set()
    for packet in find_xmp_packets(data, pil_info):
        try:
            values = digital_source_types(packet)
        except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
            out.append(analyzer_error("xmp", exc))
            continue
        for value in values:
            if value in seen:
                continue
            seen.add(value)
            direction, strength, text = SOURCE_TYPES.get(value, (NEUTRAL, "none", "an unrecognised source type"))
            out.append(
                Evidence(
                    "xmp",
                    f"digital_source_type:{value}",
                    strength,
                    direction,
                    f"XMP metadata (unsigned) says the image was {text} ({value})",
                )
            )
    return out
