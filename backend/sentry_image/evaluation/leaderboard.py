"""The leaderboard: rank model entries and write leaderboard.json, leaderboard.md and PNG plots."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sentry_image.engine.compression import STATES  # noqa: E402
from sentry_image.evaluation.metrics import roc_curve  # noqa: E402

COLUMNS = [
    ("balanced_acc", "bal. acc"),
    ("roc_auc", "ROC-AUC"),
    ("ap", "AP"),
    ("tpr_at_1fpr", "TPR@1%FPR"),
    ("tpr_at_5fpr", "TPR@5%FPR"),
    ("real_acc", "real acc"),
    ("fake_acc", "fake acc"),
    ("ece", "ECE"),
]


def _section(title: str, columns: list[str], notes: tuple[str, ...] = ()) -> list[str]:
    """The Markdown lines that open a section with a table: title, notes, table head."""
    return ["", f"## {title}", "", *notes, *([""] if notes else []), "| " + " | ".join(columns) + " |"] + [
        "|" + "---|" * len(columns)
    ]


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _headline(e: dict[str, Any]) -> dict[str, Any]:
    """The weaker protocol's numbers (entries written before the two protocols: as found)."""
    return e.get("headline") or {"protocol": "as found", **e["overall"]}


def rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries best first: by the weaker protocol's ROC-AUC, then its balanced accuracy."""
    return sorted(
        entries, key=lambda e: (-(_headline(e).get("roc_auc") or 0.0), -(_headline(e).get("balanced_acc") or 0.0))
    )


def markdown(entries: list[dict[str, Any]], dataset: str, split: str, command: str) -> str:
    """The leaderboard as Markdown: ranking, robustness, per-group accuracies."""
    lines = [
        f"# Sentry-Image leaderboard — {dataset} ({split or 'all'})",
        "",
        f"Produced by: `{command}`",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Scores are calibrated P(AI) from native-resolution tiles, thresholded at 0.5. Two protocols:",
        "*as found* (the files as they are) and *format-matched* (every image re-encoded as JPEG q90, so",
        "that the file format cannot be the cue). Models are ranked by the weaker of the two (headline).",
        "",
        "| # | model | arch | headline ROC-AUC | headline bal. acc | weaker protocol | format-matched ROC-AUC | "
        + " | ".join(f"as found {c[1]}" for c in COLUMNS)
        + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for i, e in enumerate(entries, 1):
        o, h, fm = e["overall"], _headline(e), e.get("format_matched", {})
        lines.append(
            f"| {i} | {e['model']} | {e['architecture']} | **{_fmt(h.get('roc_auc'))}** | "
            f"{_fmt(h.get('balanced_acc'))} | {h['protocol']} | {_fmt(fm.get('roc_auc'))} | "
            + " | ".join(_fmt(o.get(k)) for k, _ in COLUMNS)
            + " |"
        )
    lines += _compression_section(entries) + _badge_section(entries)
    if any("robustness" in e for e in entries):
        names = list(next(e for e in entries if "robustness" in e)["robustness"])
        lines += _section("Robustness (balanced accuracy / ROC-AUC)", ["model", "as found", *names])
        for e in entries:
            rob = e.get("robustness", {})
            cells = [
                f"{_fmt(rob.get(n, {}).get('balanced_acc'))} / {_fmt(rob.get(n, {}).get('roc_auc'))}" for n in names
            ]
            lines.append(
                f"| {e['model']} | {_fmt(e['overall'].get('balanced_acc'))} / "
                f"{_fmt(e['overall'].get('roc_auc'))} | " + " | ".join(cells) + " |"
            )
    groups = sorted({g for e in entries for g in e.get("groups", {})})
    if groups:
        lines += _section(
            "Accuracy per generator family (ai:) and real-photo category (real:)",
            ["group", "n", *(e["model"] for e in entries)],
        )
        for g in groups:
            n = next(e["groups"][g]["n"] for e in entries if g in e.get("groups", {}))
            lines.append(
                f"| {g} | {n} | "
                + " | ".join(_fmt(e.get("groups", {}).get(g, {}).get("accuracy")) for e in entries)
                + " |"
            )
    return "\n".join(lines) + "\n"


def _compression_section(entries: list[dict[str, Any]]) -> list[str]:
    """Per compression state of the files as found: real acc / AI acc / ROC-AUC under both protocols."""
    if not any("compression" in e for e in entries):
        return []
    lines = _section(
        "By compression state of the file as found (real acc / AI acc / ROC-AUC)",
        ["model", "protocol", *STATES],
        (
            "A model that keys on the format shows it here: high accuracy on one class only within a state, or",
            "a large drop from *as found* to *format-matched* on lossless files.",
        ),
    )
    for e in entries:
        for protocol, states in e.get("compression", {}).items():
            cells = []
            for st in STATES:
                m = states.get(st)
                cells.append(
                    "-"
                    if not m
                    else f"{_fmt(m.get('real_acc'))} / {_fmt(m.get('fake_acc'))} / {_fmt(m.get('roc_auc'))} "
                    f"(n {m['n_real']}+{m['n_ai']})"
                )
            lines.append(f"| {e['model']} | {protocol} | " + " | ".join(cells) + " |")
    return lines


def _badge_section(entries: list[dict[str, Any]]) -> list[str]:
    """The feed-badge point (at most 2% of real photos badged) and the recall it buys per family."""
    points = [e for e in entries if e.get("badge_point")]
    if not points:
        return []
    families = sorted({f for e in points for f in e["badge_point"]["family_recall"]})
    lines = _section(
        'Feed-badge point: at most 2% of real photos get a "likely AI" badge (as found)',
        ["model", "threshold", "real photos badged", "AI recall", *families],
    )
    for e in points:
        b = e["badge_point"]
        lines.append(
            f"| {e['model']} | {b['threshold']:.3f} | {b['real_rate']:.3f} | {b['recall']:.3f} | "
            + " | ".join(_fmt(b["family_recall"].get(f)) for f in families)
            + " |"
        )
    return lines


def plot_roc_per_group(entry: dict[str, Any], path: Path, min_count: int = 5) -> None:
    """ROC curve of each AI family against all real photos."""
    scores = entry["scores"]
    real = np.array([s["score"] for s in scores if s["label"] == 0])
    by_group: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        if s["label"] == 1:
            by_group[s["group"]].append(s["score"])
    fig, ax = plt.subplots(figsize=(7, 6))
    for group, vals in sorted(by_group.items(), key=lambda kv: -len(kv[1])):
        if len(vals) < min_count or not len(real):
            continue
        y = np.r_[np.zeros(len(real)), np.ones(len(vals))]
        fpr, tpr, _ = roc_curve(y, np.r_[real, vals])
        ax.plot(fpr, tpr, label=f"{group} (n={len(vals)})", linewidth=1.4)
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    ax.set(
        xlabel="false-positive rate (real photos called AI)",
        ylabel="true-positive rate",
        title=f"ROC per generator family — {entry['model']}",
    )
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(entries: list[dict[str, Any]], path: Path) -> None:
    """Reliability diagram: observed AI rate against mean predicted P(AI), per bin."""
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8, label="perfect calibration")
    for e in entries:
        bins = [b for b in e["reliability"] if b["count"]]
        ax.plot(
            [b["mean_score"] for b in bins],
            [b["ai_rate"] for b in bins],
            "o-",
            label=f"{e['model']} (ECE {e['overall']['ece']:.3f})",
        )
    ax.set(xlabel="mean predicted P(AI)", ylabel="observed fraction AI", title="Reliability", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_robustness(entries: list[dict[str, Any]], path: Path) -> None:
    """Grouped bars: balanced accuracy as found, format-matched and after each perturbation."""
    names = ["as found", "format-matched"] + list(next((e["robustness"] for e in entries if "robustness" in e), {}))
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(names)), 4.5))
    width = 0.8 / max(1, len(entries))
    for i, e in enumerate(entries):
        vals = [e["overall"].get("balanced_acc", 0), e.get("format_matched", {}).get("balanced_acc", 0)]
        vals += [e.get("robustness", {}).get(n, {}).get("balanced_acc", 0) for n in names[2:]]
        ax.bar(np.arange(len(names)) + i * width, vals, width, label=e["model"])
    ax.axhline(0.5, color="k", linestyle=":", linewidth=0.8)
    ax.set_xticks(np.arange(len(names)) + width * (len(entries) - 1) / 2, names, rotation=20)
    ax.set(ylabel="balanced accuracy", ylim=(0, 1), title="Balanced accuracy by protocol and perturbation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ranking(entries: list[dict[str, Any]], path: Path) -> None:
    """Horizontal bars of the headline (weaker protocol) ROC-AUC and balanced accuracy per model."""
    fig, ax = plt.subplots(figsize=(7, 1 + 0.6 * len(entries)))
    y = np.arange(len(entries))[::-1]
    ax.barh(y + 0.2, [_headline(e).get("roc_auc") or 0 for e in entries], 0.4, label="headline ROC-AUC")
    ax.barh(y - 0.2, [_headline(e).get("balanced_acc") or 0 for e in entries], 0.4, label="headline balanced acc")
    ax.set_yticks(y, [e["model"] for e in entries])
    ax.set(xlim=(0, 1), title="Leaderboard")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_leaderboard(entries: list[dict[str, Any]], out_dir: Path, dataset: str, split: str, command: str) -> Path:
    """Rank ``entries`` and write every leaderboard file into ``out_dir``; return the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = rank(entries)
    data = {
        "dataset": dataset,
        "split": split,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "entries": ranked,
    }
    (out_dir / "leaderboard.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    md = out_dir / "leaderboard.md"
    md.write_text(markdown(ranked, dataset, split, command), encoding="utf-8")
    for e in ranked:
        if e.get("scores"):
            plot_roc_per_group(e, out_dir / f"roc_{_slug(e['model'])}.png")
    plot_reliability(ranked, out_dir / "reliability.png")
    plot_robustness(ranked, out_dir / "robustness.png")
    plot_ranking(ranked, out_dir / "leaderboard.png")
    return md
