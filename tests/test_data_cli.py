"""`sentry-image data`: a dataset in the Hub's layout, served by a local fake Hub (tree API + resolve with
Range) on 127.0.0.1, downloaded through huggingface_hub's addressing (HF_ENDPOINT, HF_TOKEN), joined
from split pieces, extracted, verified, prepared into a manifest that eval reads."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pytest

from conftest import TINY_NPR, encode, generated_like, photo_like
from http_fixtures import range_server, serve_handler
from sentry_image.cli import main
from sentry_image.training.datasets import open_dataset

REPO = "Org/FakeSet"


def tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def hub_files() -> dict[str, bytes]:
    """MPBench-like: a generator subset as a tarball split in three pieces, a real subset unsplit."""
    rng = np.random.default_rng(3)
    fake = tarball({f"img{i}.png": encode(generated_like(rng, 64)) for i in range(6)})
    real = tarball({f"photo{i}.jpg": encode(photo_like(rng, 64), "JPEG") for i in range(6)})
    third = len(fake) // 3 + 1
    files = {f"ImageData/val/SDv15-CC1K/SDv15-CC1K.tar.gz.{i:02d}": fake[i * third : (i + 1) * third] for i in range(3)}
    files["ImageData/val/cc3m-1K/cc3m-1K.tar.gz"] = real
    files["MetaData/val/SDv15-CC1K.csv"] = b"path,label\n"
    return files


@contextmanager
def fake_hub(files: dict[str, bytes]) -> Iterator[tuple[str, dict]]:
    """The two Hub endpoints the download uses; yields the endpoint and request counters."""
    seen: dict = {"resolve": 0, "tree": 0, "auth": set()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            seen["auth"].add(self.headers.get("Authorization"))
            tree = f"/api/datasets/{REPO}/tree/main"
            resolve = f"/datasets/{REPO}/resolve/main/"
            if url.path.startswith(tree):
                seen["tree"] += 1
                prefix = unquote(url.path[len(tree) :]).lstrip("/")
                under = prefix + "/" if prefix else ""
                recursive = parse_qs(url.query).get("recursive", ["True"])[0] != "False"
                entries = [
                    {
                        "type": "file",
                        "oid": hashlib.sha1(data).hexdigest(),
                        "size": len(data),
                        "path": path,
                        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130},
                    }
                    for path, data in files.items()
                    if path.startswith(under) and (recursive or "/" not in path[len(under) :])
                ]
                body = json.dumps(entries).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if url.path.startswith(resolve) and unquote(url.path[len(resolve) :]) in files:
                seen["resolve"] += 1
                data = files[unquote(url.path[len(resolve) :])]
                wanted = self.headers.get("Range")
                start = int(wanted.split("=")[1].split("-")[0]) if wanted else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])
                return
            self.send_error(404)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    with serve_handler(Handler) as base:
        yield base, seen


@pytest.fixture
def test_source(monkeypatch: pytest.MonkeyPatch) -> None:
    source = {"title": "test set", "hub": {"repo": REPO, "paths": ["ImageData/val", "MetaData/val"]}, "split": "val"}
    monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"testset": source})


def test_download_verify_prepare_and_eval(test_source, store_with_model, tmp_path: Path, monkeypatch, capsys) -> None:
    files = hub_files()
    folder = tmp_path / "testset"
    with fake_hub(files) as (endpoint, seen):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.setenv("HF_TOKEN", "hf_testtoken")
        assert main(["data", "download", "testset", "--to", str(folder)]) == 0
        assert seen["resolve"] == len(files) and "Bearer hf_testtoken" in seen["auth"]
        assert main(["data", "download", "testset", "--to", str(folder)]) == 0  # rerun: nothing fetched again
        assert seen["resolve"] == len(files)
    extracted = sorted(p.name for p in (folder / "ImageData" / "val").rglob("*.png"))
    assert extracted == [f"img{i}.png" for i in range(6)]  # the three pieces joined and extracted
    assert len(list((folder / "ImageData" / "val" / "cc3m-1K").glob("*.jpg"))) == 6

    capsys.readouterr()
    assert main(["data", "verify", "testset", "--to", str(folder)]) == 0
    assert "5 files intact, 0 missing, 0 corrupt" in capsys.readouterr().err
    piece = folder / "ImageData/val/SDv15-CC1K/SDv15-CC1K.tar.gz.01"
    piece.write_bytes(b"x" + piece.read_bytes()[1:])
    (folder / "MetaData/val/SDv15-CC1K.csv").unlink()
    assert main(["data", "verify", "testset", "--to", str(folder)]) == 1
    err = capsys.readouterr().err
    assert (
        "corrupt: ImageData/val/SDv15-CC1K/SDv15-CC1K.tar.gz.01" in err
        and "missing: MetaData/val/SDv15-CC1K.csv" in err
    )

    assert main(["data", "prepare", "testset", "--to", str(folder), "--max-per-class", "4"]) == 0
    samples = open_dataset(folder / "manifest.csv", "val")  # what train and eval read
    assert sorted(s.label for s in samples) == [0] * 4 + [1] * 4
    assert (
        main(["eval", "--model", "tiny-npr", "--data", str(folder), "--out", str(tmp_path / "eval"), "--no-robustness"])
        == 0
    )
    board = json.loads((tmp_path / "eval" / "leaderboard.json").read_text())
    assert board["entries"][0]["model"] == "tiny-npr" and board["entries"][0]["overall"]["n"] == 8


def test_too_little_space_is_refused_before_downloading(test_source, tmp_path: Path, monkeypatch, capsys) -> None:
    import shutil

    monkeypatch.setattr("sentry_image.downloads.disk.shutil.disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 10))
    with fake_hub(hub_files()) as (endpoint, seen):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        assert main(["data", "download", "testset", "--to", str(tmp_path / "d")]) == 1
    assert seen["resolve"] == 0 and "GB free" in capsys.readouterr().err


def test_listing_and_unknown_names(capsys, tmp_path: Path) -> None:
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("fake2m", "mpbench", "hpbench", "genimage", "forensynths", "synthbuster"))
    assert main(["data", "download", "nope"]) == 2
    assert main(["data", "download", "genimage", "--to", str(tmp_path)]) == 1  # by hand: says how
    assert "Google Drive" in capsys.readouterr().err
    assert main(["data", "verify", "fake2m", "--to", str(tmp_path)]) == 1  # nothing downloaded there


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def web_files() -> dict[str, bytes]:
    """A ForenSynths-like set on a plain web server: label folders with train and val splits in a zip split
    in two pieces, a val extra in a tarball, and a SHA256SUMS file naming every piece."""
    rng = np.random.default_rng(5)
    images: dict[str, bytes] = {}
    for split, n in (("train", 8), ("val", 4)):
        for i in range(n):
            images[f"webset/{split}/progan/0_real/r{i}.jpg"] = encode(photo_like(rng, 64), "JPEG")
            images[f"webset/{split}/progan/1_fake/f{i}.png"] = encode(generated_like(rng, 64))
    archive = zipped(images)
    half = len(archive) // 2
    files = {"webset.zip.001": archive[:half], "webset.zip.002": archive[half:]}
    extra = {f"webset/val/stylegan/1_fake/s{i}.png": encode(generated_like(rng, 64)) for i in range(2)}
    files["stylegan.tar.gz"] = tarball(extra)
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items()).encode()
    return files


def test_plain_https_source_with_a_checksum_file_feeds_train(tmp_path: Path, monkeypatch, capsys) -> None:
    files = web_files()
    folder = tmp_path / "webset"
    with range_server({f"pub/{n}": d for n, d in files.items()}) as (base, _):
        source = {"title": "web set", "https": {"base": f"{base}/pub/", "checksums": "SHA256SUMS"}}
        monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"webset": source})
        assert main(["data", "download", "webset", "--to", str(folder)]) == 0
    assert (folder / "webset.zip").is_file()  # the two pieces joined, then extracted
    assert len(list((folder / "webset").rglob("*.png"))) == 14
    capsys.readouterr()
    assert main(["data", "verify", "webset", "--to", str(folder)]) == 0
    assert "3 files intact" in capsys.readouterr().err  # the two pieces and the tarball

    assert main(["data", "prepare", "webset", "--to", str(folder)]) == 0
    assert {s.split for s in open_dataset(folder / "manifest.csv")} == {"train", "val"}
    out = tmp_path / "run"
    cmd = ["train", "--arch", "npr", "--arch-options", json.dumps(TINY_NPR), "--data", str(folder / "manifest.csv")]
    cmd += ["--out", str(out), "--crop", "64", "--epochs", "1", "--batch-size", "4", "--model-id", "web-npr"]
    assert main(cmd) == 0  # train reads the prepared manifest: its train split to learn, its val split to check
    card = json.loads((out / "model" / "model.json").read_text())
    assert card["training"]["train"]["real"] == 8 and card["training"]["train"]["ai"] == 8
    assert card["training"]["val"] == {"real": 4, "ai": 6}


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path: Path, monkeypatch, capsys) -> None:
    files = web_files()
    files["stylegan.tar.gz"] = b"not what the checksum file says"
    with range_server(files) as (base, _):
        source = {"title": "web set", "https": {"base": base, "checksums": "SHA256SUMS"}}
        monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"webset": source})
        assert main(["data", "download", "webset", "--to", str(tmp_path)]) == 1
    assert "sha256 does not match" in capsys.readouterr().err
    assert not (tmp_path / "stylegan.tar.gz").exists() and not (tmp_path / "stylegan.tar.gz.part").exists()


@pytest.mark.parametrize("name", ["../outside.zip", "/etc/cron.d/x", "a/../../outside"])
def test_a_listing_that_leads_out_of_the_folder_is_refused(name: str, tmp_path: Path, monkeypatch, capsys) -> None:
    sums = f"{hashlib.sha256(b'x').hexdigest()}  {name}\n".encode()
    with range_server({"SHA256SUMS": sums}) as (base, seen):
        source = {"title": "evil", "https": {"base": base, "checksums": "SHA256SUMS"}}
        monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"evil": source})
        assert main(["data", "download", "evil", "--to", str(tmp_path / "d")]) == 1
    assert "nothing downloaded" in " ".join(capsys.readouterr().err.split()) and not (tmp_path / "d").exists()


def test_seven_zip_archives_are_joined_and_left_with_the_command(tmp_path: Path, monkeypatch, capsys) -> None:
    files = {"train.7z.001": b"7z\xbc\xaf\x27\x1c" + b"a" * 10, "train.7z.002": b"b" * 10}
    files["MD5SUMS"] = "".join(f"{hashlib.md5(d).hexdigest()}  {n}\n" for n, d in files.items()).encode()
    with range_server(files) as (base, _):
        source = {"title": "7z set", "https": {"base": base, "checksums": "MD5SUMS"}}
        monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"sevens": source})
        assert main(["data", "download", "sevens", "--to", str(tmp_path)]) == 0
    assert (tmp_path / "train.7z").read_bytes() == files["train.7z.001"] + files["train.7z.002"]
    assert "extract it with 7-Zip (`7z x" in " ".join(capsys.readouterr().err.split())


def test_a_one_class_set_is_prepared_with_its_generators(tmp_path: Path, monkeypatch, capsys) -> None:
    rng = np.random.default_rng(9)
    for gen in ("dalle3", "firefly"):
        (tmp_path / "synthbuster" / gen).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "synthbuster" / gen / f"{i}.png").write_bytes(encode(generated_like(rng, 32)))
    source = {"title": "ai only", "zenodo": {"record": "1"}, "label": "ai"}
    monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"sb": source})
    assert main(["data", "prepare", "sb", "--to", str(tmp_path), "--generators", "firefly"]) == 0
    samples = open_dataset(tmp_path / "manifest.csv")
    assert [(s.label, s.generator) for s in samples] == [(1, "firefly")] * 3


def test_a_single_file_at_the_hub_root_is_fetched_alone(tmp_path: Path, monkeypatch, capsys) -> None:
    rng = np.random.default_rng(4)
    study = {
        f"hpbench/{label}/{i}.png": encode(make(rng, 48))
        for label, make in (("real", photo_like), ("fake", generated_like))
        for i in range(3)
    }
    files = {**hub_files(), "hpbench.zip": zipped(study), "README.md": b"card"}
    source = {"title": "study", "hub": {"repo": REPO, "files": ["hpbench.zip"]}}
    monkeypatch.setattr("sentry_image.downloads.cli.catalog", lambda: {"study": source})
    with fake_hub(files) as (endpoint, seen):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        assert main(["data", "download", "study", "--to", str(tmp_path)]) == 0
        assert seen["resolve"] == 1  # hpbench.zip only, not the rest of the repository
        source["hub"]["files"] = ["hpbench.zip", "gone.zip"]
        assert main(["data", "download", "study", "--to", str(tmp_path / "again")]) == 1
    assert "no longer holds gone.zip" in " ".join(capsys.readouterr().err.split())
    assert main(["data", "prepare", "study", "--to", str(tmp_path)]) == 0
    assert sorted(s.label for s in open_dataset(tmp_path / "manifest.csv")) == [0, 0, 0, 1, 1, 1]
