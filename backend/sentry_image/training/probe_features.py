"""Backbone features of a labelled dataset for training a probe head, through the shipped detector's own
code (``probe.extract.ViewExtractor``) and its on-disk cache (``probe.cache``).

An augmentation is a named transform applied after decoding; its features are new rows beside the
originals' (``AUGMENTATIONS``). Each draws its parameters from the sample's key, so a re-run asks the
cache for the same crops.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sentry_image.engine.decode import decode_image
from sentry_image.errors import SentryError
from sentry_image.evaluation.transforms import FORMAT_MATCHED, reencode
from sentry_image.probe.extract import ViewExtractor
from sentry_image.training.datasets.sample import Sample

Augmentation = Callable[[Image.Image, random.Random], Image.Image]


def _jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    return reencode("JPEG", rng.randint(65, 100))(img)


def _downscale(img: Image.Image, rng: random.Random) -> Image.Image:
    factor = rng.uniform(0.5, 0.9)
    size = (max(16, round(img.width * factor)), max(16, round(img.height * factor)))
    return img.resize(size, Image.Resampling.BICUBIC)


def _blur(img: Image.Image, rng: random.Random) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))


AUGMENTATIONS: dict[str, Augmentation | None] = {
    "none": None,
    "jpeg": _jpeg,  # JPEG q65-100
    "jpeg90": lambda img, rng: FORMAT_MATCHED(img),  # the format-matched protocol's encoder
    "downscale": _downscale,  # bicubic x0.5-0.9
    "blur": _blur,  # Gaussian sigma 0.3-1.2
}


@dataclass
class FeatureRows:
    """Per-view features (``N x layers x tokens x hidden``, native crops averaged) with labels and samples."""

    views: dict[str, np.ndarray]
    labels: np.ndarray
    samples: list[Sample]
    errors: int = 0


def sample_rng(sample: Sample, augmentation: str, seed: int) -> random.Random:
    """The augmentation's random source for one sample: fixed by its key, the augmentation and the seed."""
    digest = hashlib.sha256(f"{seed}:{augmentation}:{sample.key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def dataset_features(
    samples: list[Sample],
    extractor: ViewExtractor,
    augmentation: str = "none",
    seed: int = 0,
    chunk: int = 8,
    show_progress: bool = True,
) -> FeatureRows:
    """Features of every sample that decodes (the others are counted in ``errors``)."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}; known: {', '.join(AUGMENTATIONS)}")
    transform = AUGMENTATIONS[augmentation]
    rows: dict[str, list[np.ndarray]] = {v: [] for v in extractor.views}
    kept: list[Sample] = []
    errors = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show_progress) as progress:
        task = progress.add_task(f"features ({augmentation})", total=len(samples))
        for start in range(0, len(samples), chunk):
            images, owners = [], []
            for s in samples[start : start + chunk]:
                try:
                    img = decode_image(s.read())
                    if transform is not None:
                        img = transform(img, sample_rng(s, augmentation, seed))
                    images.append(img)
                    owners.append(s)
                except (SentryError, OSError):
                    errors += 1
            if images:
                for (per_view, _), s in zip(extractor.extract(images), owners, strict=True):
                    for v in extractor.views:
                        rows[v].append(per_view[v].mean(axis=0))
                    kept.append(s)
            progress.advance(task, len(samples[start : start + chunk]))
    views = {v: np.stack(r) if r else np.empty((0,)) for v, r in rows.items()}
    return FeatureRows(views, np.asarray([s.label for s in kept], dtype=np.int64), kept, errors)
