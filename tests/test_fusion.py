"""Fused models: the card and combiner round trip, scores equal to the combiner applied to the parts'
own scores, ONNX Runtime equal to PyTorch, compression gating, registry import (parts copied, tampered
or escaping parts refused), the fit on held-out sources, and the fused model through the CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, generated_like, photo_like, write_model_card
from sentry_image.cli import main
from sentry_image.engine.compression import CompressionState, compression_state
from sentry_image.engine.fusion import FusedDetector
from sentry_image.engine.load import load_detector
from sentry_image.errors import ModelError
from sentry_image.registry.card import WEIGHTS_FILE, read_card, sha256_file

FEATURES = ["semantic", "artifact", "artifact_if_jpeg", "artifact_x_jpeg_quality", "artifact_if_lossless"]
WEIGHTS = [0.8, 0.5, -0.3, 0.2, 0.4]
BIAS = -0.1
JPEG90 = CompressionState("jpeg", "JPEG", 90, "4:2:0")
PNG = CompressionState("lossless", "PNG")


def make_fused(root: Path, part: Path, weights=WEIGHTS, parts: dict | None = None) -> Path:
    """A fusion folder with ``part`` copied as both experts and a known combiner."""
    from safetensors.numpy import save_file

    folder = root / "fused"
    for role in ("semantic", "artifact"):
        shutil.copytree(part, folder / "parts" / role)
    save_file(
        {"weight": np.array(weights, np.float32), "bias": np.array([BIAS], np.float32)}, str(folder / WEIGHTS_FILE)
    )
    parts = parts or {"semantic": "parts/semantic", "artifact": "parts/artifact"}
    write_model_card(folder, "tiny-fused", {"name": "fusion", "options": {"parts": parts, "features": FEATURES}})
    return folder


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def images():
    rng = np.random.default_rng(5)
    return [photo_like(rng, 96), generated_like(rng, 96), photo_like(rng, 160)]


def test_card_round_trip_and_scores_are_the_combiner_over_the_parts(trained_model_dir: Path, tmp_path: Path) -> None:
    folder = make_fused(tmp_path, trained_model_dir)
    assert read_card(folder)["architecture"]["options"]["features"] == FEATURES  # validated, no "input" needed
    fused = load_detector(folder, backend="torch")
    assert isinstance(fused, FusedDetector) and fused.model_id == "tiny-fused"
    part = load_detector(trained_model_dir, backend="torch")
    imgs = images()
    comps = [JPEG90, PNG, CompressionState("unknown", None)]
    for img, comp, got in zip(imgs, comps, fused.score(imgs, comps), strict=True):
        z = _logit(part.score([img])[0].score)
        jpeg, lossless = comp.state == "jpeg", comp.lossless
        f = [z, z, z * jpeg, z * (comp.jpeg_quality or 0) / 100, z * lossless]
        want = float(np.dot(WEIGHTS, f) + BIAS)
        assert got.logit == pytest.approx(want, abs=1e-5)
        assert got.score == pytest.approx(1 / (1 + math.exp(-want)), abs=1e-6)


def test_compression_gates_the_artifact_expert(trained_model_dir: Path, tmp_path: Path) -> None:
    fused = load_detector(make_fused(tmp_path, trained_model_dir), backend="torch")
    img = [generated_like(np.random.default_rng(1), 96)]
    as_jpeg, as_png = fused.score(img, [JPEG90])[0].logit, fused.score(img, [PNG])[0].logit
    z = _logit(load_detector(trained_model_dir, backend="torch").score(img)[0].score)
    assert as_png - as_jpeg == pytest.approx(z * (0.4 + 0.3 - 0.2 * 0.9), abs=1e-5)


def test_onnx_runtime_equals_pytorch_within_1e4(trained_model_dir: Path, tmp_path: Path) -> None:
    folder = make_fused(tmp_path, trained_model_dir)
    onnx, torch_ = load_detector(folder, backend="onnx"), load_detector(folder, backend="torch")
    assert (onnx.backend.name, torch_.backend.name) == ("onnx", "torch")
    comps = [JPEG90, PNG, PNG]
    a, b = onnx.score(images(), comps), torch_.score(images(), comps)
    np.testing.assert_allclose([s.score for s in a], [s.score for s in b], atol=1e-4)


def test_import_copies_the_parts_and_refuses_bad_ones(
    trained_model_dir: Path, tmp_path: Path, store_with_model
) -> None:
    folder = make_fused(tmp_path, trained_model_dir)
    installed = store_with_model.import_folder(folder)
    assert (installed.folder / "parts" / "artifact" / WEIGHTS_FILE).is_file()
    assert installed.summary()["size_bytes"] > 2 * (trained_model_dir / WEIGHTS_FILE).stat().st_size
    # Its experts are listed too (selectable on their own), but are removed only with it.
    listed = {(m.id, m.part_of) for m in store_with_model.list()}
    assert ("tiny-fused", None) in listed and ("tiny-npr", None) in listed  # the part's id is taken already
    with pytest.raises(ModelError, match="no installed model"):
        store_with_model.remove("nope")
    store_with_model.remove("tiny-fused")

    tampered = make_fused(tmp_path / "t", trained_model_dir)
    (tampered / "parts" / "artifact" / WEIGHTS_FILE).write_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="sha256"):
        store_with_model.import_folder(tampered)
    escaping = make_fused(
        tmp_path / "e", trained_model_dir, parts={"semantic": "../outside", "artifact": "parts/artifact"}
    )
    with pytest.raises(ModelError, match="outside its folder"):
        store_with_model.import_folder(escaping)
    wrong = make_fused(tmp_path / "w", trained_model_dir, weights=[1.0, 2.0])
    with pytest.raises(ModelError, match="do not match"):
        store_with_model.import_folder(wrong)
    assert [m.id for m in store_with_model.list()] == ["tiny-npr"]  # nothing half-installed


def test_experts_of_a_fused_model_are_selectable_but_not_removable(
    trained_model_dir: Path, tmp_path: Path, sentry_home: Path, empty_builtin: Path
) -> None:
    from sentry_image.registry.store import ModelStore

    store = ModelStore(builtin_dir=empty_builtin)
    store.import_folder(make_fused(tmp_path, trained_model_dir))
    models = {m.id: m for m in store.list()}
    assert set(models) == {"tiny-fused", "tiny-npr"}
    assert models["tiny-npr"].part_of == "tiny-fused" and models["tiny-npr"].summary()["part_of"] == "tiny-fused"
    assert store.active_id() == "tiny-fused"  # the fused model comes before its parts
    store.use("tiny-npr")
    assert store.active_id() == "tiny-npr"
    with pytest.raises(ModelError, match="expert of the fused model"):
        store.remove("tiny-npr")


def test_fit_on_held_out_sources(trained_model_dir: Path, tiny_dataset: Path) -> None:
    from dataclasses import replace

    from sentry_image.training.datasets import open_dataset
    from sentry_image.training.fuse import fit_combiner
    from sentry_image.training.holdout import split_holdout

    samples = [replace(s, source=f"repo{i % 8}") for i, s in enumerate(open_dataset(tiny_dataset, "val"))]
    kept, held = split_holdout(samples, 0.5)
    assert held and kept and not {s.key for s in held} & {s.key for s in kept}
    assert split_holdout(samples, 0.5) == (kept, held)  # the same sources every time
    part = load_detector(trained_model_dir, device="cpu")
    weight, bias, fitted = fit_combiner({"semantic": part, "artifact": part}, samples, FEATURES)
    assert weight.shape == (5,) and fitted["rows"] == 2 * len(samples)  # as found and JPEG q90
    assert weight[0] + weight[1] > 0  # the experts' evidence points the right way


def test_fuse_refuses_experts_that_saw_the_held_out_sources(
    trained_model_dir: Path, tiny_dataset: Path, tmp_path: Path, capsys
) -> None:
    args = ["fuse", "--semantic", str(trained_model_dir), "--artifact", str(trained_model_dir)]
    args += ["--data", str(tiny_dataset), "--holdout-fraction", "0.2", "--out", str(tmp_path / "f"), "--model-id", "f1"]
    assert main(args) == 2
    assert "not 0.2" in capsys.readouterr().err


def test_check_runs_a_fused_model_with_the_files_compression(
    trained_model_dir: Path, tmp_path: Path, store_with_model, capsys
) -> None:
    store_with_model.import_folder(make_fused(tmp_path, trained_model_dir))
    img = generated_like(np.random.default_rng(2), 96)
    (tmp_path / "a.jpg").write_bytes(encode(img, "JPEG", quality=90))
    (tmp_path / "a.png").write_bytes(encode(img, "PNG"))
    assert main(["check", str(tmp_path / "a.jpg"), str(tmp_path / "a.png"), "--model", "tiny-fused", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["compression"]["state"] for r in rows] == ["jpeg", "lossless"]
    fused = load_detector(store_with_model.get("tiny-fused").folder)
    for r, path in zip(rows, ("a.jpg", "a.png"), strict=True):
        data = (tmp_path / path).read_bytes()
        from sentry_image.engine.decode import decode_image

        want = fused.score([decode_image(data)], [compression_state(data)])[0].score
        assert r["pixel_score"] == pytest.approx(want, abs=1e-6)


def test_export_onnx_exports_each_part_and_the_fused_model_runs_them(trained_model_dir: Path, tmp_path: Path) -> None:
    from sentry_image.registry.card import ONNX_FILE
    from sentry_image.registry.onnx_export import export_into_folder

    folder = make_fused(tmp_path, trained_model_dir)
    export_into_folder(folder)
    for role in ("semantic", "artifact"):
        part = folder / "parts" / role
        assert (part / ONNX_FILE).is_file() and read_card(part)["onnx"]["sha256"] == sha256_file(part / ONNX_FILE)
    fused = load_detector(folder, backend="onnx")  # runs the shipped exports
    assert fused.score(images()[:1], [PNG])[0].verdict in ("likely_ai", "uncertain", "likely_real")


@pytest.mark.parametrize("bad", ["1", "1.5", "-0.1", "half"])
def test_holdout_fraction_outside_0_to_1_is_a_usage_error(bad: str, tmp_path: Path, capsys) -> None:
    for cmd in (
        ["train", "--arch", "npr", "--data", str(tmp_path), "--out", str(tmp_path / "r")],
        ["fuse", "--semantic", "a", "--artifact", "b", "--data", str(tmp_path), "--out", "o", "--model-id", "m"],
    ):
        with pytest.raises(SystemExit) as exc:
            main([*cmd, "--holdout-fraction", bad])
        assert exc.value.code == 2
        assert "--holdout-fraction" in capsys.readouterr().err
