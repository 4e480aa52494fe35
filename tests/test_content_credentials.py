"""C2PA: a real signed manifest reads as valid, altered pixels read as invalid, none reads as nothing."""

from __future__ import annotations

import numpy as np
from PIL import Image

from c2pa_fixtures import sign_jpeg
from conftest import encode, photo_like
from sentry_image.provenance.analyze import analyze_provenance
from sentry_image.provenance.content_credentials import analyze_c2pa
from sentry_image.provenance.evidence import AI, NEUTRAL, REAL
from sentry_image.provenance.fusion import fuse

JPEG = encode(photo_like(np.random.default_rng(4), 96), "JPEG", quality=90)


def test_valid_ai_claim_is_conclusive() -> None:
    (ev,) = analyze_c2pa(sign_jpeg(JPEG, "trainedAlgorithmicMedia", "Imaginary Diffusion 3"))
    assert ev.direction == AI and ev.strength == "conclusive" and ev.signal == "c2pa:trainedAlgorithmicMedia"
    assert "Sentry Test Signer" in ev.detail and "Imaginary Diffusion 3" in ev.detail
    fused = fuse(0.05, [ev], {"likely_ai": 0.7, "likely_real": 0.3})
    assert fused.verdict == "likely_ai" and fused.score >= 0.99
    assert fused.explanation.startswith("Content Credentials signed by")


def test_camera_claim_from_untrusted_signer_is_not_conclusive() -> None:
    (ev,) = analyze_c2pa(sign_jpeg(JPEG, "digitalCapture", "Test Camera"))
    assert ev.direction == REAL and ev.strength == "moderate" and "not on a trust list" in ev.detail


def test_altered_pixels_make_the_claim_invalid() -> None:
    signed = bytearray(sign_jpeg(JPEG, "trainedAlgorithmicMedia"))
    signed[-300] ^= 0x5A  # change entropy-coded pixel data after signing
    (ev,) = analyze_c2pa(bytes(signed))
    assert ev.signal == "c2pa:invalid" and ev.direction == NEUTRAL and "INVALID" in ev.detail


def test_no_manifest_gives_no_evidence() -> None:
    assert analyze_c2pa(JPEG) == []
    assert analyze_c2pa(encode(Image.new("RGB", (8, 8)))) == []


def test_broken_manifest_store_is_reported_not_raised() -> None:
    signed = sign_jpeg(JPEG, "trainedAlgorithmicMedia")
    start = signed.find(b"jumb")
    broken = signed[: start + 40] + b"\x00" * 64 + signed[start + 104 :]
    evidence = analyze_provenance(broken)
    c2pa_ev = [e for e in evidence if e.source == "c2pa"]
    assert c2pa_ev and c2pa_ev[0].direction == NEUTRAL and c2pa_ev[0].strength == "none"
    assert isinstance(evidence, list)


def test_c2pa_in_detect_result(client) -> None:
    from conftest import auth

    r = client.post(
        "/api/v1/detect", data=sign_jpeg(JPEG, "trainedAlgorithmicMedia"), headers=auth({"Content-Type": "image/jpeg"})
    )
    res = r.get_json()["results"][0]
    assert res["verdict"] == "likely_ai" and res["evidence"][0]["source"] == "c2pa"


def test_a_file_without_manifest_bytes_is_not_read_by_the_library(monkeypatch) -> None:
    import c2pa

    from sentry_image.provenance import content_credentials

    asked = []

    class Reader:
        def __init__(self, *args: object, **kwargs: object) -> None:
            asked.append(args[0])
            raise c2pa.C2paError.ManifestNotFound("none")

    monkeypatch.setattr(content_credentials.c2pa, "Reader", Reader)
    assert analyze_c2pa(JPEG) == [] and asked == []
    # Any of the marker bytes, even in the pixels' entropy-coded data, sends the file to the library.
    for marker in content_credentials.MANIFEST_MARKERS:
        assert analyze_c2pa(JPEG[:-2] + marker + JPEG[-2:]) == []
    assert asked == ["image/jpeg"] * len(content_credentials.MANIFEST_MARKERS)
    assert not content_credentials.may_hold_manifest(JPEG)
