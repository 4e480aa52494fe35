"""Small persistent user settings (active model id, threshold overrides) in one JSON file."""

from __future__ import annotations

import json
import threading
from typing import Any

from sentry_image.atomic_files import atomic_write_text, locked
from sentry_image.paths import settings_file

_lock = threading.Lock()


def load_settings() -> dict[str, Any]:
    """The saved settings, or ``{}`` when none are saved or the file is unreadable."""
    path = settings_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def update_settings(**changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into the settings and write them atomically; return the new settings. The
    read-modify-write holds a lock shared with other processes on the same data folder."""
    path = settings_file()
    with _lock, locked(path):
        data = load_settings()
        data.update(changes)
        atomic_write_text(path, json.dumps(data, indent=2))
        return data
