"""Check many images at once: reading (or fetching), decoding and the provenance analyses run in a pool
of worker threads (Pillow, numpy, the C2PA reader and socket reads release the GIL), while the model
scores the decoded images in batches across images. Results come back in input order, with at most
``2 x batch`` decoded images in memory.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PIL import Image

from sentry_image.engine.compression import CompressionState, compression_state
from sentry_image.engine.decode import DEFAULT_MAX_PIXELS, decode_image
from sentry_image.errors import SentryError
from sentry_image.provenance.analyze import analyze_provenance
from sentry_image.provenance.evidence import Evidence
from sentry_image.provenance.fusion import assess

BATCH_IMAGES = 8


@dataclass
class Prepared:
    """One input after the worker's part: its bytes, image, compression state and provenance evidence,
    or the error that stopped it."""

    item: str
    data: bytes | None = None
    image: Image.Image | None = None
    compression: CompressionState | None = None
    evidence: list[Evidence] | None = None
    error: SentryError | None = None


def prepare(item: str, read: Callable[[str], bytes], max_pixels: int = DEFAULT_MAX_PIXELS) -> Prepared:
    """Read, decode and analyse one input (runs in a worker thread; never raises a ``SentryError``)."""
    out = Prepared(item)
    try:
        out.data = read(item)
        out.image = decode_image(out.data, max_pixels=max_pixels)
        out.compression = compression_state(out.data)
        out.evidence = analyze_provenance(out.data, out.image)
    except SentryError as exc:
        out.error = exc
        out.image = None
    return out


def check_one(data: bytes, detector: Any) -> dict[str, Any]:
    """One image's result fields (``provenance.fusion.assess``): decode, score, provenance. Raises the
    ``SentryError`` that stops it."""
    image = decode_image(data)
    compression = compression_state(data)
    score = detector.score([image], [compression])[0]
    return assess(data, score.score, detector.thresholds, image, compression)


def default_workers() -> int:
    """Worker threads for reading and decoding: one per core, at least two (one can wait on the disk)."""
    return max(2, os.cpu_count() or 2)


def check_many(
    items: Iterable[str],
    detector: Any,
    read: Callable[[str], bytes],
    workers: int | None = None,
    batch_images: int = BATCH_IMAGES,
) -> Iterator[tuple[str, dict[str, Any] | SentryError]]:
    """Yield ``(item, result fields)`` or ``(item, error)`` for every input, in input order.

    ``detector`` is a ``Detector`` or ``FusedDetector``; the fields are those of ``provenance.fusion.assess``.
    """
    pending = iter(items)
    with ThreadPoolExecutor(workers or default_workers(), thread_name_prefix="prepare") as pool:
        queue: deque[Future[Prepared]] = deque()

        def refill() -> None:
            while len(queue) < 2 * batch_images:
                nxt = next(pending, None)
                if nxt is None:
                    return
                queue.append(pool.submit(prepare, nxt, read))

        refill()
        while queue:
            batch = [queue.popleft().result() for _ in range(min(batch_images, len(queue)))]
            refill()  # the workers decode the next images while the model scores these
            ready = [p for p in batch if p.error is None]
            scores = detector.score([p.image for p in ready], [p.compression for p in ready]) if ready else []
            by_item = {id(p): s for p, s in zip(ready, scores, strict=True)}
            for p in batch:
                if p.error is not None:
                    yield p.item, p.error
                    continue
                sc = by_item[id(p)]
                assert p.data is not None
                yield p.item, assess(p.data, sc.score, detector.thresholds, p.image, p.compression, evidence=p.evidence)
                p.image = None  # free the pixels as soon as the result is out
