"""``sentry-image check``: score files, folders and URLs from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sentry_image.engine.backends import BACKENDS
from sentry_image.engine.load import load_detector
from sentry_image.engine.pipeline import check_many
from sentry_image.errors import SentryError
from sentry_image.registry.store import ModelStore
from sentry_image.service.fetch import SafeFetcher
from sentry_image.training.datasets.folders import IMAGE_SUFFIXES

VERDICT_STYLE = {"likely_ai": "bold red", "uncertain": "yellow", "likely_real": "green"}


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``check``."""
    p = sub.add_parser("check", help="score images (files, folders, URLs)")
    p.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--model", default=None, help="model id (default: the active model)")
    add_runtime_flags(p)
    add_threshold_flags(p)
    p.set_defaults(func=run_check)


def add_runtime_flags(p: argparse.ArgumentParser) -> None:
    """``--device`` and ``--backend``: where and by what the model runs (see ``engine.backends``)."""
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="what runs the model: auto = ONNX Runtime on CPU, PyTorch on CUDA or when no ONNX export can be had",
    )


def add_threshold_flags(p: argparse.ArgumentParser) -> None:
    """``--likely-ai`` / ``--likely-real``: override the model card's verdict thresholds."""
    p.add_argument("--likely-ai", type=float, default=None, metavar="P", help="score at or above: likely AI")
    p.add_argument("--likely-real", type=float, default=None, metavar="P", help="score at or below: likely real")


def threshold_overrides(args: argparse.Namespace) -> dict[str, float]:
    """The thresholds given on the command line, validated to lie in [0, 1]."""
    out = {k: v for k, v in (("likely_ai", args.likely_ai), ("likely_real", args.likely_real)) if v is not None}
    for name, value in out.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1")
    return out


def expand_inputs(inputs: list[str], recursive: bool) -> list[str]:
    """Files and URLs to check: folders become their image files (sub-folders with ``recursive``)."""
    out: list[str] = []
    for item in inputs:
        if item.startswith(("http://", "https://")):
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            out += sorted(str(p) for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(item)
    return out


def _read(item: str, fetcher: SafeFetcher) -> bytes:
    if item.startswith(("http://", "https://")):
        return fetcher.fetch(item).data
    try:
        return Path(item).read_bytes()
    except OSError as exc:
        raise SentryError(f"cannot read {item}: {exc.strerror or exc}") from exc


def run_check(args: argparse.Namespace) -> int:
    """Score every input and print a table or JSON lines."""
    err = Console(stderr=True)
    try:
        detector = load_detector(
            ModelStore().folder_for(args.model),
            device=args.device,
            backend=args.backend,
            thresholds=threshold_overrides(args),
        )
    except (SentryError, ValueError) as exc:
        err.print(f"error: {getattr(exc, 'message', exc)}")
        return 3
    items = expand_inputs(args.inputs, args.recursive)
    if not items:
        err.print("error: no image files found")
        return 2
    fetcher = SafeFetcher()
    rows: list[dict[str, Any]] = []
    with Progress(console=err, transient=True, disable=len(items) < 5) as progress:
        task = progress.add_task("checking", total=len(items))
        for item, outcome in check_many(items, detector, lambda i: _read(i, fetcher)):
            row: dict[str, Any] = {
                "path": item,
                "score": None,
                "verdict": None,
                "model": detector.model_id,
                "error": None,
                "pixel_score": None,
                "explanation": None,
                "evidence": [],
                "compression": None,
            }
            if isinstance(outcome, SentryError):
                row["error"] = outcome.to_dict()
            else:
                row.update(outcome)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            progress.advance(task)
    if not args.json:
        table = Table(title=f"Sentry-Image — model {detector.model_id}")
        table.add_column("file", overflow="fold")
        table.add_column("P(AI)", justify="right")
        table.add_column("verdict", overflow="fold")
        table.add_column("why", overflow="fold")
        for r in rows:
            if r["error"]:
                table.add_row(r["path"], "-", f"[red]error: {r['error']['message']}[/red]", "")
            else:
                table.add_row(
                    r["path"],
                    f"{r['score']:.3f}",
                    f"[{VERDICT_STYLE[r['verdict']]}]{r['verdict'].replace('_', ' ')}[/]",
                    r["explanation"],
                )
        Console().print(table)
    return 0 if any(r["error"] is None for r in rows) else 1
