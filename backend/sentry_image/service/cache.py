"""Result caches so that a feed scrolled twice costs nothing: results by (model, sha256 of the
bytes) in an LRU, and URL -> sha256 with a time to live."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class ResultCache:
    """Thread-safe LRU of results plus a TTL map from URLs to content hashes."""

    def __init__(self, max_results: int = 4096, url_ttl_s: float = 600.0, max_urls: int = 8192) -> None:
        self._results: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._urls: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_results = max_results
        self.max_urls = max_urls
        self.url_ttl_s = url_ttl_s

    def get_result(self, model_id: str, sha256: str) -> dict[str, Any] | None:
        """The cached result for these bytes under this model, if any."""
        with self._lock:
            hit = self._results.get((model_id, sha256))
            if hit is not None:
                self._results.move_to_end((model_id, sha256))
            return hit

    def put_result(self, model_id: str, sha256: str, result: dict[str, Any]) -> None:
        """Remember a result."""
        with self._lock:
            self._results[(model_id, sha256)] = result
            self._results.move_to_end((model_id, sha256))
            while len(self._results) > self.max_results:
                self._results.popitem(last=False)

    def sha_for_url(self, url: str) -> str | None:
        """The content hash last seen at ``url``, while its TTL lasts."""
        with self._lock:
            entry = self._urls.get(url)
            if entry is None:
                return None
            if time.monotonic() - entry[1] > self.url_ttl_s:
                del self._urls[url]
                return None
            return entry[0]

    def put_url(self, url: str, sha256: str) -> None:
        """Remember which content a URL served."""
        with self._lock:
            self._urls[url] = (sha256, time.monotonic())
            self._urls.move_to_end(url)
            while len(self._urls) > self.max_urls:
                self._urls.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. after switching models)."""
        with self._lock:
            self._results.clear()
            self._urls.clear()
