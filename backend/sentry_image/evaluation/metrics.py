"""Detection metrics on labels (1 = AI) and calibrated scores (P(AI)).

The ROC curve, its area and average precision are written here with numpy, as scikit-learn defines them
(tests check them against it, ties included): evaluation runs in the bundled app too (the desktop app's
model comparison), which leaves scikit-learn and SciPy out (about 90 MB).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _ranked_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each distinct score, from the highest down: the true and false positives at or above it, and
    the score. ``ValueError`` unless both classes are present."""
    labels = np.asarray(labels) == 1
    scores = np.asarray(scores, dtype=float)
    if labels.all() or not labels.any():
        raise ValueError("ROC and precision-recall need both classes (real and AI) among the labels")
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(labels)[last_of_each]
    return tps, last_of_each + 1 - tps, scores[last_of_each]


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold (scikit-learn's ``roc_curve`` with
    ``drop_intermediate=False``), starting at (0, 0) with an infinite threshold."""
    tps, fps, thresholds = _ranked_counts(labels, scores)
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def roc_auc_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids, so a tie counts one half)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds (no interpolation)."""
    tps, fps, _ = _ranked_counts(labels, scores)
    precision, recall = tps / (tps + fps), tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def accuracies(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Real accuracy, fake accuracy and their mean (balanced accuracy) at ``threshold``."""
    labels = np.asarray(labels)
    pred = np.asarray(scores) >= threshold
    out: dict[str, float] = {}
    real, fake = labels == 0, labels == 1
    if real.any():
        out["real_acc"] = float((~pred[real]).mean())
    if fake.any():
        out["fake_acc"] = float(pred[fake].mean())
    if real.any() and fake.any():
        out["balanced_acc"] = (out["real_acc"] + out["fake_acc"]) / 2
    return out


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_target: float) -> float:
    """The highest true-positive rate reachable with a false-positive rate of at most ``fpr_target``."""
    fpr, tpr, _ = roc_curve(labels, scores)
    ok = fpr <= fpr_target + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """ECE: the bin-weighted gap between mean confidence in P(AI) and the observed AI rate."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(scores[sel].mean() - labels[sel].mean())
    return float(ece)


def reliability_bins(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per-bin mean score, observed AI rate and count, for the reliability diagram."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    return [
        {
            "lo": float(edges[b]),
            "hi": float(edges[b + 1]),
            "count": int((idx == b).sum()),
            "mean_score": float(scores[idx == b].mean()) if (idx == b).any() else float("nan"),
            "ai_rate": float(labels[idx == b].mean()) if (idx == b).any() else float("nan"),
        }
        for b in range(bins)
    ]


def summary(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """All headline metrics for one set of predictions (AUC/AP only when both classes are present)."""
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    out: dict[str, Any] = {"n": int(len(labels)), "n_ai": int((labels == 1).sum()), "n_real": int((labels == 0).sum())}
    out.update(accuracies(labels, scores, threshold))
    if out["n_ai"] and out["n_real"]:
        out["roc_auc"] = float(roc_auc_score(labels, scores))
        out["ap"] = float(average_precision_score(labels, scores))
        out["tpr_at_1fpr"] = tpr_at_fpr(labels, scores, 0.01)
        out["tpr_at_5fpr"] = tpr_at_fpr(labels, scores, 0.05)
    out["ece"] = expected_calibration_error(labels, scores)
    return out
