"""``sentry-image inspect FILE``: the full provenance report of one image."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sentry_image.errors import SentryError


def heatmap_title(report: dict, model_id: str) -> str:
    """The line a heatmap file carries: verdict, scores and model."""
    verdict = report["verdict"].replace("_", " ")
    return f"{verdict}: P(AI) {report['score']:.2f} (pixels {report['pixel_score']:.2f}), model {model_id}"


def add_inspect_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``inspect``."""
    p = sub.add_parser("inspect", help="full provenance report of one image (metadata, credentials, pixels)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--heatmap", metavar="PNG", help="also write the patch-level heatmap overlay to this file")
    p.set_defaults(func=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    """Print every piece of evidence, the pixel score when a model is installed, and the fused verdict.

    Exit status, as ``check``'s: 0 scored, 1 the file cannot be read or decoded (its metadata is still
    reported), 3 no usable model (likewise); argparse's 2 for usage errors."""
    from sentry_image.engine.compression import compression_state
    from sentry_image.engine.decode import decode_image
    from sentry_image.engine.heatmap import render_heatmap, tile_scores
    from sentry_image.engine.load import load_detector
    from sentry_image.provenance.analyze import analyze_provenance
    from sentry_image.provenance.fusion import assess
    from sentry_image.registry.store import ModelStore

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    report: dict = {"path": args.file, "evidence": [e.to_dict() for e in analyze_provenance(data)]}
    rc = 0
    try:
        img = decode_image(data)
    except SentryError as exc:  # nothing to score: exit 1, as `check` does for an image it cannot score
        report["pixel_error"], rc = exc.to_dict(), 1
    else:
        try:
            detector = load_detector(ModelStore().active().folder)
        except SentryError as exc:  # no usable model: exit 3, as `check` does
            report["pixel_error"], rc = exc.to_dict(), 3
        else:
            state = compression_state(data)
            pixel = detector.score([img], [state])[0].score
            report.update(model=detector.model_id, **assess(data, pixel, detector.thresholds, img, state))
            if args.heatmap:
                boxes, scores = tile_scores(detector, img)
                Path(args.heatmap).write_bytes(
                    render_heatmap(img, boxes, scores, title=heatmap_title(report, detector.model_id))
                )
                report["heatmap"] = args.heatmap
                print(f"wrote the heatmap to {args.heatmap}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return rc
    out = Console()
    table = Table(title=f"Provenance of {args.file}")
    for col in ("source", "signal", "strength", "points to", "detail"):
        table.add_column(col, overflow="fold")
    for e in report["evidence"]:
        table.add_row(e["source"], e["signal"], e["strength"], e["direction"], e["detail"])
    out.print(table if report["evidence"] else "No provenance metadata found (which says nothing either way).")
    if "verdict" in report:
        out.print(f"pixel detector ({report['model']}): P(AI) = {report['pixel_score']:.3f}")
        out.print(f"verdict: [bold]{report['verdict'].replace('_', ' ')}[/] (score {report['score']:.3f})")
        out.print(report["explanation"])
    else:
        out.print(f"pixel detector unavailable: {report['pixel_error']['message']}")
    return rc
