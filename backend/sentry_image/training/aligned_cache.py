"""Make (once) and cache the aligned fakes of a list of real samples, as lossless PNG files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rich.progress import Progress

from sentry_image.engine.decode import decode_image
from sentry_image.errors import SentryError
from sentry_image.training.aligned import AlignedFakeGenerator
from sentry_image.training.datasets.sample import AI, REAL, Sample


def aligned_samples(
    reals: list[Sample], generators: list[AlignedFakeGenerator], cache_dir: Path, show_progress: bool = True
) -> list[Sample]:
    """One AI sample per (real sample, autoencoder), family ``aligned-<name>``, cached in ``cache_dir``."""
    out: list[Sample] = []
    todo = [(s, g) for s in reals if s.label == REAL for g in generators]
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("aligned fakes", total=len(todo))
        for sample, gen in todo:
            digest = hashlib.sha256(f"{sample.key}|{gen.spec.name}".encode()).hexdigest()[:24]
            path = cache_dir / gen.spec.name / f"{digest}.png"
            if not path.is_file():
                try:
                    img = decode_image(sample.read())
                except SentryError:
                    progress.advance(task)
                    continue
                if img.width < 16 or img.height < 16:
                    progress.advance(task)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                gen.roundtrip(img).save(tmp, format="PNG")
                tmp.replace(path)
            out.append(
                Sample(
                    key=str(path),
                    label=AI,
                    generator=f"aligned-{gen.spec.name}",
                    family=f"aligned-{gen.spec.name}",
                    source=sample.source,
                    split=sample.split,
                )
            )
            progress.advance(task)
    return out
