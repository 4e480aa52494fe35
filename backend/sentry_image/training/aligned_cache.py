"""Make (once) and cache the aligned fakes of a list of real samples.

A twin must differ from its real photo by the decoder's trace alone, so the two share one compression
history: the twin of a JPEG photo is saved as JPEG with the photo's own quantisation tables and chroma
subsampling, the twin of a lossless photo as PNG. With ``downscale`` > 1 each real photo is first
shrunk by that factor (which erases its JPEG grid) and cached as a lossless *real* sample too; its
twins are made from the shrunk image and stored lossless like it.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PIL import Image, JpegImagePlugin
from rich.progress import Progress

from sentry_image.engine.decode import decode_image
from sentry_image.errors import SentryError
from sentry_image.training.datasets.sample import AI, REAL, Sample

DOWNSCALE_FILTERS = (Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS)


class TwinMaker(Protocol):
    """Anything that turns a real image into its AI twin (TAESD round trips, simulated decoders)."""

    name: str

    def roundtrip(self, img: Image.Image) -> Image.Image: ...


def jpeg_settings(data: bytes) -> dict | None:
    """Pillow save options that reproduce a JPEG file's coding (its quantisation tables and chroma
    subsampling); None for anything that is not a JPEG."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "JPEG" or not getattr(img, "quantization", None):
                return None
            sampling = JpegImagePlugin.get_sampling(img)
            return {"qtables": dict(img.quantization), "subsampling": sampling if sampling >= 0 else 2}
    except Exception:  # noqa: BLE001 - an unreadable header: store the twin lossless
        return None


def _cached(path: Path, make, jpeg: dict | None = None) -> bool:
    """Write ``make()`` to ``path`` (as JPEG with ``jpeg`` options, else PNG) unless it exists; False
    when nothing could be made."""
    if path.is_file():
        return True
    img = make()
    if img is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if jpeg is not None:
        img.save(tmp, format="JPEG", **jpeg)
    else:
        img.save(tmp, format="PNG")
    tmp.replace(path)
    return True


def downscaled(img: Image.Image, factor: int, key: str) -> Image.Image:
    """``img`` shrunk by ``factor`` with a filter picked from the sample key (box, bilinear or Lanczos)."""
    pick = DOWNSCALE_FILTERS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(DOWNSCALE_FILTERS)]
    return img.resize((img.width // factor, img.height // factor), pick)


def aligned_samples(
    reals: list[Sample],
    generators: list[TwinMaker],
    cache_dir: Path,
    downscale: int = 1,
    show_progress: bool = True,
) -> list[Sample]:
    """One AI sample per (real sample, twin maker), family ``aligned-<name>``, cached in ``cache_dir``;
    with ``downscale`` > 1 also the shrunk real samples (category ``downscaled``) the twins come from."""
    out: list[Sample] = []
    todo = [s for s in reals if s.label == REAL]
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("aligned fakes", total=len(todo))
        for sample in todo:
            progress.advance(task)
            digest = hashlib.sha256(f"{sample.key}|x{downscale}".encode()).hexdigest()[:24]
            base_path = cache_dir / f"real-x{downscale}" / f"{digest}.png"
            data = sample.read()
            base = functools.cache(functools.partial(_base_image, data, downscale, sample.key))
            jpeg = None if downscale > 1 else jpeg_settings(data)
            if downscale > 1:
                if not _cached(base_path, base):
                    continue
                out.append(
                    Sample(str(base_path), REAL, category="downscaled", source=sample.source, split=sample.split)
                )
            for gen in generators:
                path = cache_dir / f"{gen.name}-x{downscale}" / f"{digest}{'.jpg' if jpeg else '.png'}"

                def twin(gen: TwinMaker = gen, base: Callable[[], Image.Image | None] = base) -> Image.Image | None:
                    img = base()
                    return None if img is None else gen.roundtrip(img)

                if _cached(path, twin, jpeg):
                    family = f"aligned-{gen.name}"
                    out.append(
                        Sample(str(path), AI, generator=family, family=family, source=sample.source, split=sample.split)
                    )
    return out


def _base_image(data: bytes, downscale: int, key: str) -> Image.Image | None:
    """The photo the twins are made from (shrunk when ``downscale`` > 1); None when unusable."""
    try:
        img = decode_image(data)
    except SentryError:
        return None
    if downscale > 1:
        img = downscaled(img, downscale, key)
    return None if img.width < 16 or img.height < 16 else img
