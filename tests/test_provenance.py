"""Provenance analyzers on files written by real tools in the test, and the fusion precedence."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from conftest import photo_like
from sentry_image.provenance.analyze import analyze_provenance
from sentry_image.provenance.evidence import AI, REAL, Evidence
from sentry_image.provenance.fusion import fuse

IMG = photo_like(np.random.default_rng(0), 64)
TH = {"likely_ai": 0.7, "likely_real": 0.3}


def png_with(chunks: dict[str, str], itxt: dict[str, str] | None = None) -> bytes:
    meta = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        meta.add_text(k, v)
    for k, v in (itxt or {}).items():
        meta.add_itxt(k, v)
    buf = io.BytesIO()
    IMG.save(buf, format="PNG", pnginfo=meta)
    return buf.getvalue()


def xmp_packet(source_type: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )


def signals(data: bytes) -> set[str]:
    return {e.signal for e in analyze_provenance(data)}


A1111 = "a cat in a hat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: sd15"
COMFY_PROMPT = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})
COMFY_WORKFLOW = json.dumps({"nodes": [{"id": 3, "type": "KSampler"}], "links": []})


@pytest.mark.parametrize(
    "chunks, signal",
    [
        ({"parameters": A1111}, "generator:a1111"),
        ({"prompt": COMFY_PROMPT}, "generator:comfyui"),
        ({"workflow": COMFY_WORKFLOW}, "generator:comfyui"),
        ({"Software": "NovelAI", "Comment": json.dumps({"steps": 28, "sampler": "k_euler"})}, "generator:novelai"),
        ({"invokeai_metadata": json.dumps({"model": "sdxl"})}, "generator:invokeai"),
        ({"sd-metadata": json.dumps({"model": "stable diffusion"})}, "generator:invokeai"),
        ({"parameters": "a dog\nSteps: 30, Sampler: dpmpp, Fooocus V2"}, "generator:a1111"),
        ({"fooocus_scheme": "fooocus"}, "generator:fooocus"),
    ],
)
def test_web_ui_png_chunks(chunks: dict[str, str], signal: str) -> None:
    ev = analyze_provenance(png_with(chunks))
    assert signal in {e.signal for e in ev}
    assert ev[0].direction == AI and ev[0].strength == "strong"


def test_exif_generator_and_camera_written_with_pillow() -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Firefly Image 3"
    buf = io.BytesIO()
    IMG.save(buf, format="JPEG", exif=exif.tobytes())
    assert "generator_exif:Software" in signals(buf.getvalue())

    cam = Image.Exif()
    cam[0x010F], cam[0x0110] = "Canon", "Canon EOS 5D"
    sub = cam.get_ifd(0x8769)
    sub[0x829A], sub[0x829D], sub[0x8827] = (1, 200), (28, 10), 400
    buf = io.BytesIO()
    IMG.save(buf, format="JPEG", exif=cam.tobytes())
    (ev,) = analyze_provenance(buf.getvalue())
    assert ev.signal == "camera_exif" and ev.direction == REAL and ev.strength == "weak"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_xmp_digital_source_type_in_each_container(fmt: str) -> None:
    packet = xmp_packet("trainedAlgorithmicMedia")
    buf = io.BytesIO()
    if fmt == "PNG":
        buf.write(png_with({}, {"XML:com.adobe.xmp": packet}))
    else:
        IMG.save(buf, format=fmt, xmp=packet.encode())
    ev = analyze_provenance(buf.getvalue())
    assert ev[0].signal == "digital_source_type:trainedAlgorithmicMedia" and ev[0].direction == AI


def test_xmp_digital_capture_is_weak() -> None:
    ev = analyze_provenance(png_with({}, {"XML:com.adobe.xmp": xmp_packet("digitalCapture")}))
    assert ev[0].direction == REAL and ev[0].strength == "weak"


def test_stripped_file_has_no_claim() -> None:
    buf = io.BytesIO()
    IMG.save(buf, format="PNG")
    assert analyze_provenance(buf.getvalue()) == []
    verdict = fuse(0.2, [], TH)
    assert verdict.score == 0.2 and "No provenance" in verdict.explanation


def test_bad_metadata_is_an_analyzer_error_not_a_crash() -> None:
    broken_xmp = png_with({}, {"XML:com.adobe.xmp": "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF></x:xmpmeta>"})
    assert "analyzer_error" in signals(broken_xmp)
    huge = png_with({"parameters": "x" * 1_100_000})
    ev = analyze_provenance(huge)
    assert ev[0].signal == "analyzer_error" and "over the limit" in ev[0].detail
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + xmp_packet(
        "trainedAlgorithmicMedia"
    ).replace('rdf:about=""', 'rdf:about="&b;"')
    assert "analyzer_error" in signals(png_with({}, {"XML:com.adobe.xmp": bomb}))
    assert analyze_provenance(b"not an image")[0].signal == "analyzer_error"


def ev(direction: str, strength: str, detail: str = "d") -> Evidence:
    return Evidence("test", "s", strength, direction, detail)


@pytest.mark.parametrize(
    "pixel, evidence, verdict, low, high",
    [
        (0.1, [ev(AI, "conclusive")], "likely_ai", 0.99, 1.0),
        (0.95, [ev(REAL, "conclusive")], "likely_real", 0.0, 0.05),
        (0.1, [ev(AI, "strong")], "likely_ai", 0.9, 0.9),
        (0.3, [ev(AI, "moderate")], "uncertain", 0.65, 0.65),
        (0.9, [ev(REAL, "weak")], "likely_ai", 0.9, 0.9),
        (0.9, [], "likely_ai", 0.9, 0.9),
        (0.1, [ev(REAL, "weak"), ev(AI, "strong")], "likely_ai", 0.9, 0.9),
    ],
)
def test_fusion_precedence(pixel, evidence, verdict, low, high) -> None:
    fused = fuse(pixel, evidence, TH)
    assert fused.verdict == verdict and low - 1e-9 <= fused.score <= high + 1e-9 and fused.pixel_score == pixel
    assert fused.explanation.endswith(".")


def test_detect_result_carries_provenance(client) -> None:
    from conftest import auth

    data = png_with({"parameters": A1111})
    r = client.post("/api/v1/detect", data=data, headers=auth({"Content-Type": "image/png"}))
    res = r.get_json()["results"][0]
    assert res["verdict"] == "likely_ai" and res["score"] >= 0.9 and 0 <= res["pixel_score"] <= 1
    assert res["evidence"][0]["signal"] == "generator:a1111"
    assert "Stable Diffusion web UI" in res["explanation"]


def test_inspect_command(tmp_path, capsys, store_with_model) -> None:
    from sentry_image.cli import main

    f = tmp_path / "x.png"
    f.write_bytes(png_with({"prompt": COMFY_PROMPT}))
    assert main(["inspect", str(f), "--json", "--heatmap", str(tmp_path / "h.png")]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["evidence"][0]["signal"] == "generator:comfyui" and report["model"] == "tiny-npr"
    assert f"wrote the heatmap to {tmp_path / 'h.png'}" in err
    heat = Image.open(tmp_path / "h.png").convert("RGB")
    assert heat.width >= IMG.width and heat.height > IMG.height + 40  # the picture above its legend band
    band = np.asarray(heat)[IMG.height + 5 :]
    assert (band[..., 0] > 150).any() and (band[..., 1] > 150).any()  # the scale runs from green to red
    assert main(["inspect", str(f)]) == 0
    assert "ComfyUI" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "missing.png")]) == 1


def test_iptc_iim_digital_source_type() -> None:
    import struct

    uri = b"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    iim = b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x28" + struct.pack(">H", len(uri)) + uri  # 2:40 instructions
    block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + (b"\x00" if len(iim) % 2 else b"")
    app13 = b"Photoshop 3.0\x00" + block
    buf = io.BytesIO()
    IMG.save(buf, format="JPEG")
    jpeg = buf.getvalue()
    data = jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + jpeg[2:]
    ev = analyze_provenance(data)
    assert ev[0].source == "iptc" and ev[0].signal == "digital_source_type:trainedAlgorithmicMedia"
