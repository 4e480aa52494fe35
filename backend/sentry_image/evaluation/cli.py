"""``sentry-image eval`` and ``sentry-image leaderboard``."""

from __future__ import annotations

import argparse
import random
import shlex
import sys
from pathlib import Path

from rich.console import Console

from sentry_image.engine.cli import add_runtime_flags
from sentry_image.errors import SentryError


def add_eval_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``eval`` and ``leaderboard``."""
    p = sub.add_parser("eval", help="evaluate models on labelled data and write a leaderboard")
    p.add_argument("--model", nargs="+", required=True, help="model ids or model folders")
    p.add_argument("--data", required=True, help="dataset (manifest.csv, folder layout or tar shards)")
    p.add_argument("--split", default="val", help="split to evaluate ('' for all); default val")
    p.add_argument("--out", default="reports/eval", help="output folder")
    p.add_argument("--no-robustness", action="store_true", help="skip the perturbation sweep")
    p.add_argument("--limit", type=int, default=0, help="evaluate a random subset of this size")
    add_runtime_flags(p)
    p.set_defaults(func=run_eval)

    q = sub.add_parser("leaderboard", help="merge evaluation results of several runs into one ranked table")
    q.add_argument("results", nargs="+", help="leaderboard.json files or folders holding one")
    q.add_argument("--out", default="reports/leaderboard")
    q.set_defaults(func=run_leaderboard)


def _detector(ref: str, device: str, backend: str):
    from sentry_image.engine.load import load_detector
    from sentry_image.registry.store import ModelStore

    return load_detector(ModelStore().folder_for(ref), device=device, backend=backend)


def _eval_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this evaluation (for the report's "Produced by")."""
    parts = ["sentry-image", "eval", "--model", *args.model, "--data", str(args.data), "--split", args.split]
    parts += ["--out", str(args.out)]
    if args.no_robustness:
        parts.append("--no-robustness")
    if args.limit:
        parts += ["--limit", str(args.limit)]
    for flag in ("device", "backend"):
        if getattr(args, flag) != "auto":
            parts += [f"--{flag}", getattr(args, flag)]
    return shlex.join(parts)


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate each model and write the leaderboard files."""
    from sentry_image.evaluation.leaderboard import write_leaderboard
    from sentry_image.evaluation.report import evaluate_model
    from sentry_image.training.datasets import open_dataset

    console = Console(stderr=True)
    try:
        samples = open_dataset(args.data, args.split)
        if args.limit and len(samples) > args.limit:
            samples = random.Random(0).sample(samples, args.limit)
        if not samples:
            console.print(f"error: no samples in {args.data} (split {args.split!r})")
            return 2
        entries = []
        for ref in args.model:
            detector = _detector(ref, args.device, args.backend)
            console.print(f"evaluating {detector.model_id} on {len(samples)} images")
            entries.append(evaluate_model(detector, samples, robustness=not args.no_robustness))
    except (SentryError, ValueError, FileNotFoundError) as exc:
        console.print(f"error: {getattr(exc, 'message', exc)}")
        return 2
    md = write_leaderboard(
        entries, Path(args.out), dataset=str(args.data), split=args.split, command=_eval_command(args)
    )
    Console().print(md.read_text(encoding="utf-8"))
    console.print(f"written: {md.parent}")
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    """Merge several leaderboard.json files into one."""
    from sentry_image.evaluation.leaderboard import write_leaderboard
    from sentry_image.evaluation.report import load_entries

    try:
        entries = load_entries([Path(r) for r in args.results])
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot read results: {exc}", file=sys.stderr)
        return 2
    command = "sentry-image leaderboard " + " ".join(shlex.quote(r) for r in args.results)
    md = write_leaderboard(entries, Path(args.out), dataset="merged", split="", command=command)
    Console().print(md.read_text(encoding="utf-8"))
    return 0
