"""Pick the right reader for a dataset path."""

from __future__ import annotations

from pathlib import Path

from sentry_image.training.datasets.fakeimagedataset import looks_like_fakeimagedataset, read_fakeimagedataset
from sentry_image.training.datasets.folders import looks_like_label_folders, read_label_folders
from sentry_image.training.datasets.manifest import read_manifest
from sentry_image.training.datasets.sample import Sample
from sentry_image.training.datasets.shards import iter_shards


def open_dataset(path: str | Path, split: str = "") -> list[Sample]:
    """Read every sample of the dataset at ``path`` (a manifest CSV, a folder of a known layout, a tar
    shard or a folder of shards), restricted to ``split`` where the layout has splits.

    Raises ``ValueError`` for a layout it does not recognise, naming the layouts it knows.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"dataset not found: {p}")
    if p.is_file() and p.suffix.lower() == ".csv":
        return list(read_manifest(p, split))
    if p.is_file() and p.name.endswith((".tar", ".tar.gz", ".tgz")):
        return list(iter_shards([p]))
    if p.is_dir():
        if (p / "manifest.csv").is_file():
            return list(read_manifest(p / "manifest.csv", split))
        if looks_like_fakeimagedataset(p):
            return list(read_fakeimagedataset(p, split))
        shards = sorted(p.glob("*.tar"))
        if shards:
            return list(iter_shards(shards))
        if looks_like_label_folders(p):
            return list(read_label_folders(p, split))
    raise ValueError(
        f"{p}: unknown dataset layout (expected manifest.csv, real/+fake/ or 0_real/1_fake folders, "
        "GenImage <gen>/{train,val}/{nature,ai}, FakeImageDataset ImageData/, or .tar shards)"
    )
