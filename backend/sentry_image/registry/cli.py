"""``sentry-image models list|info|import|remove|use``."""

from __future__ import annotations

import argparse
import json
import sys

from rich import box
from rich.console import Console
from rich.table import Table

from sentry_image.backbones.cli import add_backbone_parsers
from sentry_image.errors import SentryError
from sentry_image.registry.card import onnx_only
from sentry_image.registry.store import ModelStore


def add_models_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``models`` with its actions."""
    p = sub.add_parser("models", help="list, inspect, import, remove or select detector models")
    acts = p.add_subparsers(dest="action", required=True)
    acts.add_parser("list", help="installed models").set_defaults(func=run_models)
    for name, helptext in (
        ("info", "show a model card"),
        ("remove", "delete a user model"),
        ("use", "make a model the active one"),
    ):
        a = acts.add_parser(name, help=helptext)
        a.add_argument("id")
        a.set_defaults(func=run_models)
    a = acts.add_parser(
        "import", help="validate and install a model folder (model.json + model.safetensors or, ONNX-only, model.onnx)"
    )
    a.add_argument("path")
    a.set_defaults(func=run_models)
    a = acts.add_parser(
        "export-onnx",
        help="write model.onnx into a model folder and name it in its card (for installs without PyTorch)",
        description="Export a model folder to ONNX (checked against PyTorch) so that the bundled app, which "
        "has no PyTorch, can run it. Other installs export into their cache on first use by themselves.",
    )
    a.add_argument("model", help="an installed model id or a model folder")
    a.set_defaults(func=run_models)
    add_backbone_parsers(acts)


def models_table(store: ModelStore) -> Table:
    """Installed models, one line each within 80 columns (``models info ID`` has the rest): the active
    one starred, val ROC-AUC as found / format-matched (JPEG q90), built-in or user, ONNX-only marked."""
    active = store.active_id()
    table = Table(
        title="Installed models",
        caption="AUC: val ROC-AUC as found / format-matched (all re-encoded as JPEG q90)",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column("", width=1)
    table.add_column("id", no_wrap=True)
    table.add_column("arch", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("AUC", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for m in store.list():
        s = m.summary()
        metrics = m.card.get("metrics", {})
        aucs = [metrics.get(k, {}).get("roc_auc") for k in ("val", "format_matched_val")]
        table.add_row(
            "*" if m.id == active else "",
            m.id,
            s["architecture"],
            f"{s['size_bytes'] / 1e6:.1f} MB",
            "/".join(f"{a:.3f}" for a in aucs if a is not None) or "-",
            ("built-in" if m.builtin else "user") + (" onnx" if onnx_only(m.card) else ""),
        )
    return table


def run_models(args: argparse.Namespace) -> int:
    """Carry out one ``models`` action."""
    store = ModelStore()
    out = Console()
    try:
        if args.action == "list":
            out.print(models_table(store) if store.list() else "no models installed")
        elif args.action == "info":
            print(json.dumps(store.get(args.id).card, indent=2))
        elif args.action == "import":
            m = store.import_folder(args.path)
            out.print(f"imported {m.id} into {m.folder}")
        elif args.action == "remove":
            store.remove(args.id)
            out.print(f"removed {args.id}")
        elif args.action == "export-onnx":
            from sentry_image.engine.device import torch_installed
            from sentry_image.registry.onnx_export import export_into_folder

            if not torch_installed():
                print(
                    "error: exporting needs PyTorch: install the training set with "
                    "`.venv/bin/pip install -r requirements-train.txt`",
                    file=sys.stderr,
                )
                return 2

            folder = store.folder_for(args.model)
            card = export_into_folder(folder)
            if "onnx" in card:
                out.print(f"wrote {folder / 'model.onnx'} (sha256 {card['onnx']['sha256'][:12]}…)")
            else:
                out.print(f"{card['id']}: nothing to export (its model.onnx is the model, or each part has its own)")
        elif args.action == "use":
            store.use(args.id)
            out.print(f"active model: {args.id}")
    except SentryError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0
