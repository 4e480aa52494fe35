"""The /detect pipeline: collect inputs, fetch or read bytes, use the cache, decode, score in one batch."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sentry_image.engine.compression import compression_state
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
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
    pending: list[tuple[Item, Any, dict[str, float], str, float]] = []
    results: dict[str, dict[str, Any]] = {}
    model_id = detector.model_id
    for item in items:
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
                    results[item.id] = _from_cache(cached, item, t0)
                    continue
                fetched = fetcher.fetch(item.url)
                item.data = fetched.data
                timings["fetch"] = fetched.ms
            assert item.data is not None
            sha = hashlib.sha256(item.data).hexdigest()
            if item.url is not None:
                cache.put_url(item.url, sha)
            cached = cache.get_result(model_id, sha)
            if cached is not None:
                results[item.id] = _from_cache(cached, item, t0)
                continue
            t1 = time.perf_counter()
            img = decode_image(item.data, max_pixels=max_pixels)
            timings["decode"] = (time.perf_counter() - t1) * 1000.0
            timings["cpu"] = (time.thread_time() - cpu0) * 1000.0
            pending.append((item, img, timings, sha, t0))
        except SentryError as err:
            timings["total"] = (time.perf_counter() - t0) * 1000.0
            timings["cpu"] = (time.thread_time() - cpu0) * 1000.0
            results[item.id] = _error_result(item, err, timings)
    if pending:
        states = [compression_state(p[0].data or b"") for p in pending]
        scores = detector.score([p[1] for p in pending], states)
        for (item, img, timings, sha, t0), state, sc in zip(pending, states, scores, strict=True):
            timings["model"] = sc.model_ms
            t2, cpu2 = time.perf_counter(), time.thread_time()
            deadline = cpu2 + cpu_budget_s - timings["cpu"] / 1000.0
            fused = assess(item.data, sc.score, detector.thresholds, img, state, deadline)
            timings["provenance"] = (time.perf_counter() - t2) * 1000.0
            timings["cpu"] += (time.thread_time() - cpu2) * 1000.0
            timings["total"] = (time.perf_counter() - t0) * 1000.0
            result = {
                "id": item.id,
                "source": item.source,
                "sha256": sha,
                "model": model_id,
                **fused,
                "width": img.width,
                "height": img.height,
                "timings_ms": {k: round(v, 2) for k, v in timings.items()},
            }
            cache.put_result(model_id, sha, result)
            results[item.id] = result
    return [results[item.id] for item in items]


def _from_cache(cached: dict[str, Any], item: Item, t0: float) -> dict[str, Any]:
    total = round((time.perf_counter() - t0) * 1000.0, 2)
    return {
        **cached,
        "id": item.id,
        "source": item.source,
        "cached": True,
        "timings_ms": {"fetch": 0.0, "decode": 0.0, "model": 0.0, "provenance": 0.0, "cpu": 0.0, "total": total},
    }
