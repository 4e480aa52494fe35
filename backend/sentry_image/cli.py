"""The ``sentry-image`` command line."""

from __future__ import annotations

import argparse
import sys

from sentry_image import __version__
from sentry_image.downloads.cli import add_data_parser
from sentry_image.engine.cli import add_check_parser
from sentry_image.evaluation.cli import add_eval_parsers
from sentry_image.provenance.cli import add_inspect_parser
from sentry_image.quiz.cli import add_quiz_parser
from sentry_image.registry.cli import add_models_parser
from sentry_image.service.cli import add_service_parsers
from sentry_image.training.cli import add_fuse_parser, add_quantize_parser, add_train_parser, add_train_probe_parser


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="sentry-image", description="Local-first detection of AI-generated images.")
    parser.add_argument("--version", action="version", version=f"sentry-image {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_service_parsers(sub)
    add_check_parser(sub)
    add_inspect_parser(sub)
    add_models_parser(sub)
    add_train_parser(sub)
    add_train_probe_parser(sub)
    add_fuse_parser(sub)
    add_quantize_parser(sub)
    add_eval_parsers(sub)
    add_quiz_parser(sub)
    add_data_parser(sub)
    # Listed for --help only: main() hands everything after "desktop" to the desktop app's own parser.
    sub.add_parser("desktop", help="open the desktop app (window + tray icon); see `desktop --help`", add_help=False)
    return parser


def run_desktop(argv: list[str]) -> int:
    """Start the pywebview desktop app with its own options (e.g. --port, --no-tray, files to check)."""
    try:
        from sentry_image_desktop.app import main as desktop_main
    except ImportError as exc:
        print(f"error: the desktop app needs pywebview and pystray ({exc})", file=sys.stderr)
        return 1
    return desktop_main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["desktop"]:
        return run_desktop(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
