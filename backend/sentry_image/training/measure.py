"""The last step of making any model: its calibration, "likely AI" badge point and both protocols'
numbers, all measured on the validation split through the shipped scoring path and written into its card
(used by ``quantize`` and ``train-probe``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentry_image.evaluation.report import evaluate_model
from sentry_image.evaluation.scoring import score_samples
from sentry_image.registry.card import write_card
from sentry_image.training.datasets import Sample


def calibrate_and_measure(
    out: Path, card: dict[str, Any], load: Callable[[], Any], val: list[Sample], show_progress: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit temperature and shift on ``val``'s logits, choose the badge point (at most 2% of real val photos
    reach ``likely_ai``) and record both protocols and the per-compression breakdown in the card, which is
    rewritten in ``out`` after each step. ``load`` opens the model folder as written so far. Returns the
    card and the evaluation entry. Needs PyTorch (the calibration fit)."""
    from sentry_image.training.calibrate import fit_calibration

    card["calibration"] = {"temperature": 1.0, "shift": 0.0, "fitted_on": "validation split"}
    write_card(out, card)
    found = [r for r in score_samples(load(), val, show_progress=show_progress, label="calibrating") if r.error is None]
    temperature, shift = fit_calibration([r.logit for r in found], [r.sample.label for r in found])
    card["calibration"]["temperature"], card["calibration"]["shift"] = temperature, shift
    write_card(out, card)

    entry = evaluate_model(load(), val, robustness=False, show_progress=show_progress)
    point = entry["badge_point"]
    # Rounded up to 4 decimals: rounding down could let one more real photo reach the badge.
    likely_ai = math.ceil(point["threshold"] * 1e4) / 1e4 if point else card["thresholds"]["likely_ai"]
    card["thresholds"] = {
        "likely_ai": max(likely_ai, card["thresholds"]["likely_real"]),
        "likely_real": card["thresholds"]["likely_real"],
    }
    card["metrics"] = {
        "val": entry["overall"],
        "format_matched_val": entry["format_matched"],
        "per_compression": entry["compression"],
        "badge_point": {
            "chosen_on": "val split (as found)",
            "rule": "at most 2% of real photos reach likely_ai",
            **(point or {}),
        },
        "verdicts": verdict_shares(entry["scores"], card["thresholds"]),
        "note": "calibration, badge point and metrics all come from the same val split (threshold-dependent "
        "numbers are optimistic; ROC-AUC is not affected)",
    }
    write_card(out, card)
    return card, entry


def verdict_shares(scores: list[dict[str, Any]], thresholds: dict[str, float]) -> dict[str, dict[str, float]]:
    """The share of real photos and of AI images that get each verdict at ``thresholds`` (as found)."""
    from sentry_image.engine.calibration import verdict_for

    out: dict[str, dict[str, float]] = {}
    for name, label in (("real", 0), ("ai", 1)):
        verdicts = [
            verdict_for(r["score"], thresholds["likely_ai"], thresholds["likely_real"])
            for r in scores
            if r["label"] == label
        ]
        out[name] = {
            v: round(verdicts.count(v) / max(1, len(verdicts)), 4) for v in ("likely_real", "uncertain", "likely_ai")
        }
    return out


def badge_sentence(card: dict[str, Any]) -> str:
    """``"; at the badge point T x% of real photos get a badge and y% of AI images are caught"`` from a
    measured card (empty when it has no badge point), for the cards' limitations."""
    point = card["metrics"]["badge_point"]
    if "real_rate" not in point:
        return ""
    return (
        f"; at the badge point {card['thresholds']['likely_ai']} {point['real_rate']:.1%} of real photos get a "
        f"badge and {point['recall']:.0%} of AI images are caught"
    )
