"""The /detect pipeline: collect inputs, fetch or read bytes, use the cache, decode, score in one batch.

The images of a batch are fetched and decoded, and later analysed for provenance, in a shared pool of
worker threads, so that network waits and decoding overlap; the model scores them all in one batch."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sentry_image.engine.compression import CompressionState, compression_state
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.engine.score import Score
from sentry_image.errors import SentryError
from sentry_image.provenance.fusion import assess
from sentry_image.service.cache import ResultCache
from sentry_image.service.fetch import SafeFetcher


@dataclass
class Item:
    """One image to check: a URL to fetch or bytes already received."""

    id: str
    source: str
    url: str | None = None
    data: bytes | None = None
    error: SentryError | None = None


def _error_result(item: Item, err: SentryError, timings: dict[str, float]) -> dict[str, Any]:
    return {
        "id": item.id,
        "source": item.source,
        "sha256": None,
        "score": None,
        "verdict": None,
        "model": None,
        "timings_ms": {k: round(v, 2) for k, v in timings.items()},
        "error": err.to_dict(),
        "_status": err.http_status,
    }


def run_detection(
    items: list[Item],
    detector: Detector,
    fetcher: SafeFetcher,
    cache: ResultCache,
    max_pixels: int,
    cpu_budget_s: float,
) -> list[dict[str, Any]]:
    """Score every item; each result is complete or carries an ``error``. Order is preserved.

    ``timings_ms.cpu`` is the CPU time this thread spent on the image (decode, pre-processing,
    provenance); once it passes ``cpu_budget_s`` the optional analyses are skipped, and say so."""
    model_id = detector.model_id
    prepared = _map(lambda item: _prepare(item, model_id, fetcher, cache, max_pixels), items)
    results = {item.id: out for item, out in zip(items, prepared, strict=True) if isinstance(out, dict)}
    pending = [out for out in prepared if isinstance(out, _Pending)]
    if pending:
        scores = detector.score([p.image for p in pending], [p.compression for p in pending])
        jobs = list(zip(pending, scores, strict=True))
        finished = _map(lambda job: _finish(*job, detector, cpu_budget_s), jobs)
        for p, result in zip(pending, finished, strict=True):
            cache.put_result(model_id, p.sha, result)
            results[p.item.id] = result
    return [results[item.id] for item in items]


@dataclass
class _Pending:
    """An item decoded and waiting for the model."""

    item: Item
    image: Any
    compression: CompressionState
    timings: dict[str, float]
    sha: str
    t0: float


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
POOL_WORKERS = 4


def _map(fn: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """``fn`` over ``values``: in the shared worker pool when there are several (fetching, decoding and
    provenance of a batch overlap), directly for one."""
    global _POOL
    if len(values) < 2:
        return [fn(v) for v in values]
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(POOL_WORKERS, thread_name_prefix="detect")
    return list(_POOL.map(fn, values))


def _prepare(
    item: Item, model_id: str, fetcher: SafeFetcher, cache: ResultCache, max_pixels: int
) -> dict[str, Any] | _Pending:
    """Fetch (or take) the bytes, answer from the cache, else decode: a finished result or a ``_Pending``."""
    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    timings = {"fetch": 0.0, "decode": 0.0, "model": 0.0, "provenance": 0.0, "cpu": 0.0, "total": 0.0}
    try:
        if item.error is not None:
            raise item.error
        if item.url is not None:
            sha = cache.sha_for_url(item.url)
            cached = cache.get_result(model_id, sha) if sha else None
            if cached is not None:
                return _from_cache(cached, item, t0)
            fetched = fetcher.fetch(item.url)
            item.data = fetched.data
            timings["fetch"] = fetched.ms
        assert item.data is not None
        sha = hashlib.sha256(item.data).hexdigest()
        if item.url is not None:
            cache.put_url(item.url, sha)
        cached = cache.get_result(model_id, sha)
        if cached is not None:
            return _from_cache(cached, item, t0)
        t1 = time.perf_counter()
        img = decode_image(item.data, max_pixels=max_pixels)
        timings["decode"] = (time.perf_counter() - t1) * 1000.0
        compression = compression_state(item.data)
        timings["cpu"] = (time.thread_time() - cpu0) * 1000.0
        return _Pending(item, img, compression, timings, sha, t0)
    except SentryError as err:
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        timings["cpu"] = (time.thread_time() - cpu0) * 1000.0
        return _error_result(item, err, timings)


def _finish(p: _Pending, sc: Score, detector: Detector, cpu_budget_s: float) -> dict[str, Any]:
    """Provenance and the fused verdict for a scored item: its complete result."""
    timings = p.timings
    timings["model"] = sc.model_ms
    t2, cpu2 = time.perf_counter(), time.thread_time()
    deadline = cpu2 + cpu_budget_s - timings["cpu"] / 1000.0
    assert p.item.data is not None
    fused = assess(p.item.data, sc.score, detector.thresholds, p.image, p.compression, deadline)
    timings["provenance"] = (time.perf_counter() - t2) * 1000.0
    timings["cpu"] += (time.thread_time() - cpu2) * 1000.0
    timings["total"] = (time.perf_counter() - p.t0) * 1000.0
    return {
        "id": p.item.id,
        "source": p.item.source,
        "sha256": p.sha,
        "model": detector.model_id,
        **fused,
        "width": p.image.width,
        "height": p.image.height,
        "timings_ms": {k: round(v, 2) for k, v in timings.items()},
    }


def _from_cache(cached: dict[str, Any], item: Item, t0: float) -> dict[str, Any]:
    total = round((time.perf_counter() - t0) * 1000.0, 2)
    return {
        **cached,
        "id": item.id,
        "source": item.source,
        "cached": True,
        "timings_ms": {"fetch": 0.0, "decode": 0.0, "model": 0.0, "provenance": 0.0, "cpu": 0.0, "total": total},
    }
