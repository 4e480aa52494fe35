"""Refuse a download that cannot fit before it starts."""

from __future__ import annotations

import shutil
from pathlib import Path

from sentry_image.errors import SentryError

MARGIN = 1.05  # extraction and piece joining need a little room beyond the bytes themselves


class NotEnoughSpaceError(SentryError):
    """The target disk lacks the room a download needs."""

    code = "no_space"
    http_status = 507


def free_bytes(folder: Path) -> int:
    """Bytes free on the disk that holds ``folder`` (its nearest existing parent)."""
    path = Path(folder).resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def check_free_space(folder: Path, needed: int) -> None:
    """Raise ``NotEnoughSpaceError`` unless ``needed`` bytes (plus a 5% margin) fit under ``folder``."""
    free = free_bytes(folder)
    if needed * MARGIN > free:
        raise NotEnoughSpaceError(
            f"{folder}: needs {needed * MARGIN / 1e9:.2f} GB, only {free / 1e9:.2f} GB free; "
            "free some space or pick a subset (--generators, --max-per-class)"
        )
