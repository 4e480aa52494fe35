"""Reader for the Sentry-Image FakeImageDataset layout (Fake2M for training, MPBench for validation):

    ImageData/{train,val}/<subset>/.../*.jpg|png     e.g. cc3m, celeba-hq, SDv15-CC30K, IF-CC95K/IF-ddim-50-15K
    MetaData/*.csv                                    optional per-subset lists

Real subsets are recognised by name (CC3M, CelebA-HQ, COCO, FFHQ, ImageNet, LAION, LSUN); every
other subset is a generator. When MetaData CSVs carry a path column (relative to ``ImageData/<split>``
or to ``ImageData``) and a label column, they take precedence over the folder names.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sentry_image.training.datasets.folders import image_files
from sentry_image.training.datasets.sample import REAL, Sample, label_from_value

REAL_SUBSET_PREFIXES = ("cc3m", "celeba", "coco", "ffhq", "imagenet", "laion", "lsun", "real")


def subset_label(name: str) -> int:
    """0 for a real-photo subset name, 1 for a generator subset."""
    return REAL if name.lower().startswith(REAL_SUBSET_PREFIXES) else 1


def _metadata_labels(root: Path) -> dict[str, int]:
    labels: dict[str, int] = {}
    for csv_path in sorted((root / "MetaData").glob("*.csv")):
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            cols = {c.lower(): c for c in reader.fieldnames or []}
            path_col = next((cols[c] for c in ("path", "file", "image", "filename", "image_path") if c in cols), None)
            label_col = next((cols[c] for c in ("label", "target", "class") if c in cols), None)
            if not path_col or not label_col:
                continue
            for row in reader:
                label = label_from_value(row[label_col])
                if label is not None:
                    labels[Path(row[path_col]).as_posix().lstrip("./")] = label
    return labels


def read_fakeimagedataset(root: Path, split: str = "") -> Iterator[Sample]:
    """Samples of ``ImageData/<split>`` (all splits when ``split`` is empty)."""
    meta = _metadata_labels(root)
    splits = [split] if split else sorted(p.name for p in (root / "ImageData").iterdir() if p.is_dir())
    for sp in splits:
        split_dir = root / "ImageData" / sp
        if not split_dir.is_dir():
            raise FileNotFoundError(f"{split_dir} does not exist")
        for subset in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            default = subset_label(subset.name)
            for f in image_files(subset):
                rel = f.relative_to(split_dir).as_posix()
                label = meta.get(rel, meta.get(f"{sp}/{rel}", default))
                yield Sample(
                    key=str(f),
                    label=label,
                    generator=subset.name if label else "",
                    family=subset.name.split("-")[0].lower() if label else "",
                    category="" if label else subset.name,
                    source=subset.name,
                    split=sp,
                )


def looks_like_fakeimagedataset(root: Path) -> bool:
    """True when ``root`` has the ``ImageData/`` folder of this layout."""
    return (root / "ImageData").is_dir()
