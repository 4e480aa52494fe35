"""How to start this install's own CLI in a new process (the desktop app starts the service this
way). Kept apart from ``cli`` so that callers need not import every subcommand, and ``cli`` (which can
start the desktop app) and the desktop app do not import each other."""

from __future__ import annotations

import sys


def command_line(*args: str) -> list[str]:
    """The argv that runs ``sentry-image ARGS`` with this same install (the bundled app's own executable
    when frozen by PyInstaller, else ``python -m sentry_image.cli``)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "sentry_image.cli", *args]
