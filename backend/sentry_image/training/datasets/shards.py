"""Streaming reader for tar shards (WebDataset-style): images are read member by member from the
archive stream, never unpacked to disk. A member's label comes from a sidecar ``<stem>.cls`` /
``<stem>.json`` ({"label": ..., "generator": ...}) or from a label-named folder in its path
(``real/``, ``fake/``, ``0_real/``, ``1_fake/``, ``nature/``, ``ai/``)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from sentry_image.training.datasets.folders import IMAGE_SUFFIXES
from sentry_image.training.datasets.sample import Sample, label_from_name, label_from_value


def _label_from_path(name: str) -> tuple[int | None, str]:
    parts = PurePosixPath(name).parts[:-1]
    for i, part in enumerate(parts):
        label = label_from_name(part)
        if label is not None:
            others = [p for p in parts[:i] if p not in {"train", "val", "test"}]
            return label, (others[0] if others else "")
    return None, ""


def iter_shard(path: Path) -> Iterator[Sample]:
    """Samples of one shard in archive order; each sample's bytes are already in memory."""
    pending: dict[str, dict] = {}
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            stem, suffix = name.rsplit(".", 1) if "." in name else (name, "")
            fh = tar.extractfile(member)
            if fh is None:
                continue
            data = fh.read()
            entry = pending.setdefault(stem, {})
            if f".{suffix.lower()}" in IMAGE_SUFFIXES:
                entry["image"] = data
                entry["name"] = name
            elif suffix == "cls":
                entry["label"] = label_from_value(data.decode())
            elif suffix == "json":
                meta = json.loads(data)
                entry["label"] = label_from_value(str(meta.get("label", "")))
                entry["generator"] = meta.get("generator", "")
            sample = _complete(path, stem, entry)
            if sample is not None:
                del pending[stem]
                yield sample
    for stem, entry in pending.items():
        sample = _complete(path, stem, entry, final=True)
        if sample is not None:
            yield sample


def _complete(path: Path, stem: str, entry: dict, final: bool = False) -> Sample | None:
    if "image" not in entry:
        return None
    label = entry.get("label")
    generator = entry.get("generator", "")
    if label is None:
        label, from_path = _label_from_path(entry["name"])
        generator = generator or from_path
        if label is None:
            if final:
                raise ValueError(f"{path}: no label for member {entry['name']}")
            return None
    data = entry["image"]
    return Sample(
        key=f"{path}::{entry['name']}",
        label=label,
        generator=generator if label else "",
        family=generator.lower() if label else "",
        category="" if label else "real",
        source=path.name,
        load=lambda: data,
    )


def iter_shards(paths: list[Path]) -> Iterator[Sample]:
    """Samples of several shards, one after the other."""
    for p in paths:
        yield from iter_shard(p)
