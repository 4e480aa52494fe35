"""Fuse the pixel score with provenance evidence into one verdict and a one-sentence explanation.

Precedence (tested in tests/test_provenance.py):
1. A valid signed (C2PA) claim of AI generation: AI with high confidence (score at least 0.99).
2. A valid signed claim of a camera capture: likely real (score at most 0.05).
3. Strong unsigned AI metadata (generator PNG chunks, IPTC trainedAlgorithmicMedia, a generator in EXIF
   Software): likely AI (score at least 0.9). Spoofable, so it is said to be unsigned.
4. Moderate AI hints halve the distance to 1 without forcing a verdict.
5. Weak hints (camera EXIF, unsigned 'digital capture') never move the score: they are trivially
   copied. No metadata says nothing — stripped metadata is never evidence of being real.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from sentry_image.engine.calibration import verdict_for
from sentry_image.engine.compression import CompressionState, compression_state
from sentry_image.provenance.evidence import AI, REAL, Evidence


@dataclass
class FusedVerdict:
    """The fused score and verdict, the pixel score they came from, and why."""

    score: float
    verdict: str
    pixel_score: float
    explanation: str


def fuse(pixel_score: float, evidence: list[Evidence], thresholds: dict[str, float]) -> FusedVerdict:
    """Combine ``pixel_score`` (calibrated P(AI)) with ``evidence`` per the precedence above."""

    def first(direction: str, strength: str) -> Evidence | None:
        return next((e for e in evidence if e.direction == direction and e.strength == strength), None)

    score = pixel_score
    if e := first(AI, "conclusive"):
        score = max(score, 0.99)
        why = f"{e.detail}."
    elif e := first(REAL, "conclusive"):
        score = min(score, 0.05)
        why = f"{e.detail}."
    elif e := first(AI, "strong"):
        score = max(score, 0.9)
        why = (
            f"{e.detail} — unsigned metadata, a strong but forgeable hint; the pixel detector gives {pixel_score:.2f}."
        )
    elif e := first(AI, "moderate"):
        score = score + (1.0 - score) / 2
        why = f"{e.detail}; together with the pixel detector's {pixel_score:.2f}."
    else:
        weak = next((e for e in evidence if e.strength == "weak"), None)
        why = f"No provenance; the pixel detector gives {pixel_score:.2f}."
        if weak is not None:
            why = f"No signed provenance; the pixel detector gives {pixel_score:.2f} ({weak.detail})."
    verdict = verdict_for(score, thresholds["likely_ai"], thresholds["likely_real"])
    return FusedVerdict(score, verdict, pixel_score, why)


def assess(
    data: bytes,
    pixel_score: float,
    thresholds: dict[str, float],
    image: Image.Image | None = None,
    compression: CompressionState | None = None,
    cpu_deadline: float | None = None,
    evidence: list[Evidence] | None = None,
) -> dict[str, object]:
    """Provenance + fusion for one image's bytes: the result fields shared by the API and the CLI.
    ``compression`` is the file's state when the caller has read it already (for the detector);
    ``cpu_deadline`` bounds the optional analyses (see ``analyze_provenance``); ``evidence`` is the
    analyses' result when the caller ran them already (``engine.pipeline`` does, in its workers)."""
    from sentry_image.provenance.analyze import analyze_provenance

    if evidence is None:
        evidence = analyze_provenance(data, image, cpu_deadline)
    fused = fuse(pixel_score, evidence, thresholds)
    return {
        "score": round(fused.score, 6),
        "verdict": fused.verdict,
        "pixel_score": round(pixel_score, 6),
        "explanation": fused.explanation,
        "evidence": [e.to_dict() for e in evidence],
        "compression": (compression or compression_state(data)).to_dict(),
    }
