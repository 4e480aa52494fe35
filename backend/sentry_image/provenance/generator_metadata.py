"""Generator metadata: PNG text chunks written by Stable Diffusion web UIs and apps, and EXIF strings
of known generators. Unsigned, so a strong but spoofable hint."""

from __future__ import annotations

import json
import re
import struct

from PIL import Image

from sentry_image.provenance.evidence import AI, NEUTRAL, Evidence

MAX_CHUNK_CHARS = 1_000_000

# Known generator / AI-editor names in EXIF Software, Make, Model, ImageDescription, UserComment.
GENERATOR_NAMES = re.compile(
    r"(stable[ -]?diffusion|automatic1111|novelai|midjourney|dall[·.\- ]?e|firefly|comfyui|invokeai|fooocus|"
    r"leonardo\.ai|ideogram|imagen|gemini|nano[ -]?banana|gpt-4o|gpt-image|flux\.?1|sdxl|dreamstudio|"
    r"nightcafe|craiyon|playground ?ai|kandinsky|bing image creator|designer\.microsoft|krea)",
    re.IGNORECASE,
)


def _chunk_evidence(key: str, value: str) -> Evidence | None:
    k = key.lower()
    v = value[:2000]
    if k == "parameters":
        tool = "Fooocus" if "fooocus" in value.lower() else "a Stable Diffusion web UI (AUTOMATIC1111/Forge)"
        if "Steps:" in value or "Sampler:" in value or "Negative prompt:" in value or tool == "Fooocus":
            return Evidence(
                "png_text", "generator:a1111", "strong", AI, f"PNG 'parameters' text written by {tool}: {v[:120]!r}"
            )
    if k in ("prompt", "workflow"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and any(isinstance(n, dict) and "class_type" in n for n in parsed.values()):
            return Evidence("png_text", "generator:comfyui", "strong", AI, "ComfyUI prompt graph in PNG metadata")
        if isinstance(parsed, dict) and "nodes" in parsed:
            return Evidence("png_text", "generator:comfyui", "strong", AI, "ComfyUI workflow in PNG metadata")
    if k == "software" and "novelai" in value.lower():
        return Evidence("png_text", "generator:novelai", "strong", AI, "PNG 'Software' says NovelAI")
    if k == "comment" and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and {"steps", "sampler"} & set(parsed):
            return Evidence(
                "png_text",
                "generator:novelai",
                "strong",
                AI,
                "PNG 'Comment' holds generation settings (NovelAI layout)",
            )
    if k in ("invokeai_metadata", "sd-metadata", "invokeai_graph", "dream"):
        return Evidence("png_text", "generator:invokeai", "strong", AI, f"InvokeAI metadata in PNG chunk {key!r}")
    if k in ("fooocus_scheme",):
        return Evidence("png_text", "generator:fooocus", "strong", AI, "Fooocus metadata in PNG")
    if k in ("generation_data", "sd_metadata", "aigc") or GENERATOR_NAMES.search(v):
        return Evidence(
            "png_text", f"generator_text:{key}", "moderate", AI, f"PNG text {key!r} names an AI generator: {v[:120]!r}"
        )
    return None


def analyze_png_text(text_chunks: dict[str, object]) -> list[Evidence]:
    """Evidence from PNG tEXt/iTXt/zTXt chunks (as Pillow exposes them in ``img.info``)."""
    out = []
    for key, raw in text_chunks.items():
        if not isinstance(raw, str | bytes) or key in ("xmp", "XML:com.adobe.xmp", "exif", "icc_profile"):
            continue
        value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if len(value) > MAX_CHUNK_CHARS:
            out.append(
                Evidence(
                    "png_text",
                    "analyzer_error",
                    "none",
                    NEUTRAL,
                    f"PNG text chunk {key!r} of {len(value):,} characters skipped (over the limit)",
                )
            )
            continue
        ev = _chunk_evidence(key, value)
        if ev is not None:
            out.append(ev)
    return out


EXIF_TAGS = {
    0x0131: "Software",
    0x010F: "Make",
    0x0110: "Model",
    0x010E: "ImageDescription",
    0x013B: "Artist",
    0x9286: "UserComment",
}


def exif_strings(exif: dict[int, object]) -> dict[str, str]:
    """The EXIF text fields this analyzer reads, decoded."""
    out = {}
    for tag, name in EXIF_TAGS.items():
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.removeprefix(b"ASCII\0\0\0").removeprefix(b"UNICODE\0").decode("utf-8", "replace")
        if isinstance(value, str) and value.strip("\0 "):
            out[name] = value.strip("\0 ")
    return out


def analyze_exif_generator(fields: dict[str, str]) -> list[Evidence]:
    """Evidence from EXIF strings that name an AI generator."""
    out = []
    for name, value in fields.items():
        m = GENERATOR_NAMES.search(value)
        if m:
            out.append(
                Evidence(
                    "exif",
                    f"generator_exif:{name}",
                    "strong" if name == "Software" else "moderate",
                    AI,
                    f"EXIF {name} names an AI generator ({m.group(0)}): {value[:100]!r}",
                )
            )
    return out


def png_exif(data: bytes) -> Image.Exif:
    """The EXIF of a PNG file's ``eXIf`` chunk, read by walking the chunks (the pixel data is skipped:
    Pillow's own ``getexif`` decodes the whole image to reach a chunk that follows it)."""
    exif = Image.Exif()
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"eXIf":
            exif.load(b"Exif\x00\x00" + body)
            break
        if kind == b"IEND" or len(body) < length:
            break
        pos += 12 + length
    return exif
