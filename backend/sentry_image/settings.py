"""Small persistent user settings (active model id, threshold overrides) in one JSON file."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

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
    """Merge ``changes`` into the settings and write them atomically; return the new settings."""
    with _lock:
        data = load_settings()
        data.update(changes)
        path = settings_file()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return data
