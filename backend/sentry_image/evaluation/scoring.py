"""Score a list of labelled samples with a detector, exactly as a user's image would be scored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image
from rich.progress import Progress

from sentry_image.engine.compression import UNKNOWN, CompressionState, compression_state
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.errors import SentryError
from sentry_image.training.datasets.sample import Sample


@dataclass
class SampleResult:
    """A sample with its score, or the error that kept it from being scored."""

    sample: Sample
    score: float = float("nan")
    logit: float = float("nan")
    verdict: str = ""
    error: str | None = None
    compression: CompressionState = UNKNOWN  # the file's compression state as found


def score_samples(
    detector: Detector,
    samples: list[Sample],
    transform: Callable[[Image.Image], Image.Image] | None = None,
    batch: int = 16,
    show_progress: bool = True,
    label: str = "scoring",
) -> list[SampleResult]:
    """Decode each sample, optionally transform it (robustness sweeps), and score it in batches."""
    results: list[SampleResult] = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(label, total=len(samples))
        for start in range(0, len(samples), batch):
            chunk = samples[start : start + batch]
            images, owners = [], []
            for s in chunk:
                try:
                    data = s.read()
                    img = decode_image(data)
                    if transform is not None:
                        img = transform(img)
                    images.append(img)
                    owners.append((s, compression_state(data)))
                except (SentryError, OSError) as exc:
                    results.append(SampleResult(s, error=str(exc)))
            # A fused model is told the compression of the file it sees: after a re-encoding, the new one.
            seen = [getattr(transform, "compression", None) or state for _, state in owners]
            scored = detector.score(images, seen) if images else []
            for (s, state), sc in zip(owners, scored, strict=True):
                results.append(SampleResult(s, sc.score, sc.logit, sc.verdict, compression=state))
            progress.advance(task, len(chunk))
    return results
