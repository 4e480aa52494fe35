"""Dataset readers on small generated fixtures of each layout."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, photo_like
from sentry_image.training.datasets import open_dataset

RNG = np.random.default_rng(3)


def put(path: Path, n: int = 2) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        photo_like(RNG, 40).save(path / f"{i}.png")


def summary(samples) -> Counter:
    return Counter((s.label, s.generator, s.split) for s in samples)


def test_plain_real_fake(tmp_path: Path) -> None:
    put(tmp_path / "real", 3)
    put(tmp_path / "fake", 2)
    assert summary(open_dataset(tmp_path)) == Counter({(0, "", ""): 3, (1, "", ""): 2})


def test_forensynths_layout(tmp_path: Path) -> None:
    put(tmp_path / "progan" / "car" / "0_real")
    put(tmp_path / "progan" / "car" / "1_fake")
    put(tmp_path / "stylegan" / "0_real")
    put(tmp_path / "stylegan" / "1_fake", 3)
    got = summary(open_dataset(tmp_path))
    assert got[(1, "stylegan", "")] == 3 and got[(1, "progan", "")] == 2 and got[(0, "", "")] == 4


def test_genimage_layout_and_split(tmp_path: Path) -> None:
    for gen in ("midjourney", "vqdm"):
        put(tmp_path / gen / "train" / "nature")
        put(tmp_path / gen / "train" / "ai")
        put(tmp_path / gen / "val" / "nature", 1)
        put(tmp_path / gen / "val" / "ai", 1)
    val = open_dataset(tmp_path, "val")
    assert summary(val) == Counter({(0, "", "val"): 2, (1, "midjourney", "val"): 1, (1, "vqdm", "val"): 1})
    assert len(open_dataset(tmp_path, "train")) == 8


def test_fakeimagedataset_layout(tmp_path: Path) -> None:
    put(tmp_path / "ImageData" / "train" / "cc3m")
    put(tmp_path / "ImageData" / "train" / "SDv15-CC30K", 3)
    put(tmp_path / "ImageData" / "val" / "IF-CC95K" / "IF-ddim-50-15K", 1)
    put(tmp_path / "ImageData" / "val" / "celeba-hq", 1)
    (tmp_path / "MetaData").mkdir()
    (tmp_path / "MetaData" / "extra.csv").write_text("path,label\nSDv15-CC30K/0.png,real\n")
    train = open_dataset(tmp_path, "train")
    got = summary(train)
    assert got[(1, "SDv15-CC30K", "train")] == 2 and got[(0, "", "train")] == 3  # metadata overrides one
    val = summary(open_dataset(tmp_path, "val"))
    assert val == Counter({(1, "IF-CC95K", "val"): 1, (0, "", "val"): 1})


def test_manifest_csv(tmp_path: Path) -> None:
    put(tmp_path / "images", 3)
    (tmp_path / "manifest.csv").write_text(
        "file,label,generator,family,category,source,split\n"
        "images/0.png,real,,,face,a,train\nimages/1.png,ai,SDXL 1.0,sdxl,,b,train\nimages/2.png,ai,FLUX,flux,,c,val\n"
    )
    train = open_dataset(tmp_path / "manifest.csv", "train")
    assert [(s.label, s.group) for s in train] == [(0, "face"), (1, "sdxl")]
    assert len(open_dataset(tmp_path)) == 3


def test_manifest_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("file,kind\na.png,real\n")
    with pytest.raises(ValueError, match="lacks column"):
        open_dataset(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("file,label\na.png,maybe\n")
    with pytest.raises(ValueError, match="unknown label"):
        open_dataset(tmp_path / "m.csv")


def test_unknown_layout_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset layout"):
        open_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "nope")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_tar_shards_stream_without_unpacking(tmp_path: Path) -> None:
    png = encode(photo_like(RNG, 40))
    with tarfile.open(tmp_path / "shard-000.tar", "w") as tar:
        _add(tar, "real/a.png", png)
        _add(tar, "sdxl/fake/b.png", png)
        _add(tar, "c.png", png)
        _add(tar, "c.json", json.dumps({"label": "ai", "generator": "flux"}).encode())
        _add(tar, "d.cls", b"0")
        _add(tar, "d.png", png)
    samples = open_dataset(tmp_path)
    assert sorted((s.label, s.generator) for s in samples) == [(0, ""), (0, ""), (1, "flux"), (1, "sdxl")]
    assert all(s.read() == png for s in samples)
    assert not (tmp_path / "real").exists()


def test_shard_member_without_label_is_an_error(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        _add(tar, "x.png", encode(photo_like(RNG, 40)))
    with pytest.raises(ValueError, match="no label"):
        open_dataset(tmp_path / "bad.tar")
