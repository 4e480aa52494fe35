"""Per-client concurrency limit: a few requests run at once per client, a few more may wait, and
anything beyond that is answered 429 straight away instead of piling up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sentry_image.errors import TooBusyError


class ClientLimiter:
    """``slot(client)`` admits a request or raises ``TooBusyError``."""

    def __init__(self, concurrent: int = 4, queued: int = 64) -> None:
        self.concurrent = concurrent
        self.queued = queued
        self._lock = threading.Lock()
        self._sems: dict[str, threading.Semaphore] = {}
        self._pending: dict[str, int] = {}

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Hold one of ``client``'s slots for the duration of the block."""
        with self._lock:
            pending = self._pending.get(client, 0)
            if pending >= self.concurrent + self.queued:
                raise TooBusyError(f"too many requests in flight ({pending}); try again shortly")
            self._pending[client] = pending + 1
            sem = self._sems.setdefault(client, threading.Semaphore(self.concurrent))
        try:
            with sem:
                yield
        finally:
            with self._lock:
                self._pending[client] -= 1
                if self._pending[client] == 0:
                    del self._pending[client]
