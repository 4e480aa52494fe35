"""Reader for CSV manifests like ``shared/data/manifest.csv``: columns ``file`` (relative to the
manifest's folder), ``label`` (real|ai), and optionally ``generator``, ``family``, ``category``,
``source`` and ``split``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sentry_image.training.datasets.sample import Sample, label_from_value


def read_manifest(path: Path, split: str = "") -> Iterator[Sample]:
    """Samples listed in the manifest, restricted to ``split`` when given."""
    base = path.parent
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: manifest lacks column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if split and row.get("split", "") != split:
                continue
            label = label_from_value(row["label"])
            if label is None:
                raise ValueError(f"{path}:{line}: unknown label {row['label']!r}")
            yield Sample(
                key=str(base / row["file"]),
                label=label,
                generator=row.get("generator", ""),
                family=row.get("family", "") or row.get("generator", ""),
                category=row.get("category", ""),
                source=row.get("source", ""),
                split=row.get("split", ""),
            )
