"""Background jobs the window polls: checking many files, evaluating models."""

from __future__ import annotations

import base64
import io
import itertools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from sentry_image.engine.decode import decode_image
from sentry_image.errors import SentryError

_ids = itertools.count(1)

log = logging.getLogger(__name__)


def thumbnail_data_url(data: bytes, size: int = 160) -> str | None:
    """A small JPEG data URL of an image, or None when it cannot be decoded."""
    try:
        img = decode_image(data)
    except SentryError:
        return None
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


class Job:
    """A cancellable background task that appends results as it goes."""

    def __init__(self, kind: str, total: int) -> None:
        self.id = f"{kind}-{next(_ids)}"
        self.kind = kind
        self.total = total
        self.results: list[dict[str, Any]] = []
        self.finished = False
        self.cancelled = False
        self.error: str | None = None
        self.extra: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, result: dict[str, Any]) -> None:
        """Record one result."""
        with self._lock:
            self.results.append(result)

    def run(self, work: Callable[[Job], None]) -> Job:
        """Run ``work(self)`` in a daemon thread; errors end the job with a message."""

        def target() -> None:
            try:
                work(self)
            except Exception as exc:  # noqa: BLE001 - reported to the window, never lost
                self.error = str(exc)
            finally:
                self.finished = True
                log.info(
                    "%s finished: %d of %d done%s",
                    self.id,
                    len(self.results),
                    self.total,
                    f" ({self.error})" if self.error else " (cancelled)" if self.cancelled else "",
                )

        threading.Thread(target=target, daemon=True, name=self.id).start()
        return self

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """Progress and the results from index ``since`` on."""
        with self._lock:
            return {
                "id": self.id,
                "kind": self.kind,
                "total": self.total,
                "done": len(self.results),
                "finished": self.finished,
                "cancelled": self.cancelled,
                "error": self.error,
                "results": self.results[since:],
                **self.extra,
            }


def expand_paths(paths: list[str]) -> list[Path]:
    """Image files among ``paths``, folders searched recursively."""
    from sentry_image.engine.cli import expand_inputs

    return [Path(p) for p in expand_inputs([str(p) for p in paths], recursive=True)]
