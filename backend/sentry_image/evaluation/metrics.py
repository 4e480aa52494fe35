"""Detection metrics on labels (1 = AI) and calibrated scores (P(AI))."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


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
