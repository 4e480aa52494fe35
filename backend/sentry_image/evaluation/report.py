"""Evaluate models on labelled data: headline metrics, per-group accuracies, a robustness sweep, and
the files of a leaderboard entry (JSON, Markdown, PNG plots)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image.engine.detector import Detector
from sentry_image.evaluation.metrics import accuracies, reliability_bins, summary
from sentry_image.evaluation.scoring import SampleResult, score_samples
from sentry_image.evaluation.transforms import FORMAT_MATCHED, ROBUSTNESS
from sentry_image.training.datasets.sample import AI, Sample


def _arrays(results: list[SampleResult]) -> tuple[np.ndarray, np.ndarray]:
    ok = [r for r in results if r.error is None]
    return np.array([r.sample.label for r in ok]), np.array([r.score for r in ok])


def per_group(results: list[SampleResult]) -> dict[str, dict[str, Any]]:
    """Accuracy per AI family (fake accuracy) and per real category (real accuracy)."""
    groups: dict[str, list[SampleResult]] = defaultdict(list)
    for r in results:
        if r.error is None:
            groups[("ai:" if r.sample.label == AI else "real:") + r.sample.group].append(r)
    out = {}
    for name, rs in sorted(groups.items()):
        labels, scores = _arrays(rs)
        acc = accuracies(labels, scores)
        out[name] = {"n": len(rs), "accuracy": acc.get("fake_acc", acc.get("real_acc"))}
    return out


def per_compression(results: list[SampleResult]) -> dict[str, dict[str, Any]]:
    """Real accuracy, AI accuracy and ROC-AUC per compression state of the files as found."""
    states: dict[str, list[SampleResult]] = defaultdict(list)
    for r in results:
        if r.error is None:
            states[r.compression.state].append(r)
    return {state: summary(*_arrays(rs)) for state, rs in sorted(states.items())}


def badge_point(results: list[SampleResult], max_real_rate: float = 0.02) -> dict[str, Any]:
    """The lowest score threshold at which at most ``max_real_rate`` of real photos would get a
    "likely AI" badge, and the recall it buys, overall and per AI family."""
    labels, scores = _arrays(results)
    real = np.sort(scores[labels == 0])
    if not len(real) or not (labels == 1).any():
        return {}
    allowed = int(np.floor(max_real_rate * len(real)))  # real photos that may reach the threshold
    threshold = float(np.nextafter(real[len(real) - allowed - 1], 1.0)) if allowed < len(real) else 0.0
    families: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.error is None and r.sample.label == AI:
            families[r.sample.group].append(r.score)
    return {
        "max_real_rate": max_real_rate,
        "threshold": threshold,
        "real_rate": float((real >= threshold).mean()),
        "recall": float((scores[labels == 1] >= threshold).mean()),
        "family_recall": {f: float(np.mean(np.array(v) >= threshold)) for f, v in sorted(families.items())},
    }


def headline(entry: dict[str, Any]) -> dict[str, Any]:
    """The weaker of the two protocols (as found, format-matched) by ROC-AUC: the number that counts."""
    protocols = {"as found": entry["overall"], "format-matched": entry["format_matched"]}
    name = min(protocols, key=lambda k: protocols[k].get("roc_auc", 0.0))
    return {"protocol": name, **{k: protocols[name].get(k) for k in ("roc_auc", "balanced_acc", "ap")}}


def evaluate_model(
    detector: Detector, samples: list[Sample], robustness: bool = True, show_progress: bool = True
) -> dict[str, Any]:
    """All numbers of one model on one dataset; ``results`` keeps per-image scores for plots."""
    started = time.time()
    as_is = score_samples(detector, samples, show_progress=show_progress, label="as found")
    labels, scores = _arrays(as_is)
    entry: dict[str, Any] = {
        "model": detector.model_id,
        "model_name": detector.card.get("name", detector.model_id),
        "architecture": detector.card["architecture"]["name"],
        "overall": summary(labels, scores),
        "groups": per_group(as_is),
        "reliability": reliability_bins(labels, scores),
        "errors": sum(1 for r in as_is if r.error is not None),
        "scores": [
            {"key": r.sample.key, "label": r.sample.label, "group": r.sample.group, "score": r.score}
            for r in as_is
            if r.error is None
        ],
    }
    fm = score_samples(detector, samples, transform=FORMAT_MATCHED, show_progress=show_progress, label="format-matched")
    entry["format_matched"] = summary(*_arrays(fm))
    entry["headline"] = headline(entry)
    entry["compression"] = {"as found": per_compression(as_is), "format-matched": per_compression(fm)}
    entry["badge_point"] = badge_point(as_is)
    if robustness:
        entry["robustness"] = {}
        for name, transform in ROBUSTNESS.items():
            res = score_samples(detector, samples, transform=transform, show_progress=show_progress, label=name)
            entry["robustness"][name] = summary(*_arrays(res))
    entry["seconds"] = round(time.time() - started, 1)
    return entry


def load_entries(paths: list[Path]) -> list[dict[str, Any]]:
    """Model entries from leaderboard.json files (or folders holding one)."""
    entries = []
    for p in paths:
        f = p / "leaderboard.json" if p.is_dir() else p
        data = json.loads(f.read_text(encoding="utf-8"))
        entries += data["entries"]
    return entries
