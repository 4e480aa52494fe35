"""Readers for folder layouts: plain ``real/`` + ``fake/`` (also ForenSynths ``0_real/1_fake``, possibly
nested under per-class or per-generator folders) and GenImage (``<gen>/{train,val}/{nature,ai}``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sentry_image.training.datasets.sample import Sample, label_from_name

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".avif"}


def image_files(folder: Path) -> list[Path]:
    """All image files under ``folder``, sorted for reproducibility."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_label_folders(root: Path, split: str = "") -> Iterator[Sample]:
    """Samples from every folder named like a label (real/fake/0_real/1_fake/nature/ai) under ``root``.

    The path between ``root`` and the label folder becomes the generator name, so ForenSynths'
    ``<generator>/<class>/0_real`` and GenImage's ``<generator>/train/ai`` keep their generator.
    """
    label_dirs = sorted(p for p in root.rglob("*") if p.is_dir() and label_from_name(p.name) is not None)
    for label_dir in label_dirs:
        if any(other != label_dir and label_dir in other.parents for other in label_dirs):
            continue  # a label-named folder that holds label folders is a generator name, not a label
        label = label_from_name(label_dir.name)
        assert label is not None
        rel_parts = [p for p in label_dir.relative_to(root).parts[:-1] if p not in {"train", "val", "test"}]
        parts_split = [p for p in label_dir.relative_to(root).parts if p in {"train", "val", "test"}]
        if split and parts_split and parts_split[0] != split:
            continue
        generator = rel_parts[0] if rel_parts else ""
        for f in image_files(label_dir):
            yield Sample(
                key=str(f),
                label=label,
                generator=generator if label else "",
                family=generator.lower() if label else "",
                category="" if label else (generator or "real"),
                source=generator,
                split=parts_split[0] if parts_split else split,
            )


def looks_like_label_folders(root: Path) -> bool:
    """True when some folder under ``root`` (up to five levels: ForenSynths' test set unpacks to
    ``CNN_synth_testset/<generator>/<class>/0_real``) is named like a label."""
    for depth in ("*", "*/*", "*/*/*", "*/*/*/*", "*/*/*/*/*"):
        if any(p.is_dir() and label_from_name(p.name) is not None for p in root.glob(depth)):
            return True
    return False


def read_one_label(root: Path, label: int) -> Iterator[Sample]:
    """Samples from a folder whose images all carry ``label`` (e.g. Synthbuster: AI images only, one folder
    per generator); each image's folder name is its generator (AI) or category (real)."""
    for f in image_files(root):
        name = f.parent.name if f.parent != root else root.name
        yield Sample(
            key=str(f),
            label=label,
            generator=name if label else "",
            family=name.lower() if label else "",
            category="" if label else name,
            source=name,
        )
