"""A source-disjoint held-out part of the training split: the experts of a fused model are trained
without it, and the combiner is fitted on it (never on val)."""

from __future__ import annotations

import hashlib

from sentry_image.training.datasets.sample import Sample


def _bucket(source: str) -> float:
    """A stable number in [0, 1) for a source name."""
    return int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) / 2**32


def split_holdout(samples: list[Sample], fraction: float) -> tuple[list[Sample], list[Sample]]:
    """``(kept, held_out)``: every sample of about ``fraction`` of the sources (by a hash of the source
    name, so the same sources every time) goes to ``held_out``; nothing is held out for 0."""
    if fraction <= 0:
        return samples, []
    held = [s for s in samples if _bucket(s.source or s.key) < fraction]
    kept = [s for s in samples if _bucket(s.source or s.key) >= fraction]
    return kept, held
