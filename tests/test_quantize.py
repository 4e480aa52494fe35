"""`sentry-image quantize`: an int8 ONNX-only copy of a real trained model, calibrated and measured on its
own, loaded on ONNX Runtime, imported into the store and refused when tampered with."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sentry_image.cli import main
from sentry_image.engine.backends import OnnxBackend
from sentry_image.engine.detector import Detector
from sentry_image.errors import ModelError
from sentry_image.evaluation.scoring import score_samples
from sentry_image.registry.card import ONNX_FILE, WEIGHTS_FILE, read_card, sha256_file
from sentry_image.registry.loading import load_model_folder
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets import open_dataset


@pytest.fixture(scope="module")
def int8_model(trained_model_dir: Path, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentry_image.training.quantize import quantize_model

    out = tmp_path_factory.mktemp("int8") / "tiny-npr-int8"
    workdir = tmp_path_factory.mktemp("quantize-cwd")
    with contextlib.chdir(workdir):
        model = quantize_model(trained_model_dir, str(tiny_dataset), out, "tiny-npr-int8", show_progress=False)
    # ONNX Runtime's shape inference drops its debris into the working directory when it gives up on
    # NPR's graph (a session once committed 15 such files): nothing may land there.
    assert list(workdir.iterdir()) == []
    return model


def test_the_int8_model_has_its_own_card(int8_model: Path, trained_model_dir: Path) -> None:
    card, source = read_card(int8_model), read_card(trained_model_dir)
    assert card["format"] == "onnx" and card["sha256"] == sha256_file(int8_model / ONNX_FILE)
    assert not (int8_model / WEIGHTS_FILE).exists() and "onnx" not in card
    assert card["derived_from"]["id"] == "tiny-npr" and card["derived_from"]["sha256"] == source["sha256"]
    assert card["input"] == source["input"] and card["calibration"] != source["calibration"]
    assert card["description"].startswith("tiny-npr quantised to int8") and "Percentile" in card["description"]
    metrics = card["metrics"]
    assert metrics["val"]["n"] == 48 and metrics["format_matched_val"]["n"] == 48
    assert metrics["badge_point"]["real_rate"] <= 0.02
    assert f"{metrics['val']['roc_auc']:.3f} as found" in card["limitations"]
    point = max(metrics["badge_point"]["threshold"], card["thresholds"]["likely_real"])  # never below likely_real
    assert card["thresholds"]["likely_ai"] == pytest.approx(point, abs=1e-4)


def test_int8_scores_follow_the_float_model(int8_model: Path, trained_model_dir: Path, tiny_dataset: Path) -> None:
    val = open_dataset(tiny_dataset, "val")
    int8 = Detector.from_folder(int8_model)
    assert isinstance(int8.backend, OnnxBackend)
    fp = Detector.from_folder(trained_model_dir, backend="onnx")
    z8 = np.array([r.logit for r in score_samples(int8, val, show_progress=False)])
    z32 = np.array([r.logit for r in score_samples(fp, val, show_progress=False)])
    assert np.corrcoef(z8, z32)[0, 1] > 0.9


def test_an_onnx_only_model_never_runs_on_pytorch(int8_model: Path) -> None:
    with pytest.raises(ModelError, match="ONNX-only"):
        load_model_folder(int8_model)
    with pytest.raises(ModelError, match="ONNX-only"):
        Detector.from_folder(int8_model, backend="torch")


def test_the_store_imports_lists_and_uses_it(int8_model: Path, store_with_model: ModelStore) -> None:
    store_with_model.import_folder(int8_model)
    listed = {m.id: m.summary() for m in store_with_model.list()}
    assert listed["tiny-npr-int8"]["size_bytes"] == (int8_model / ONNX_FILE).stat().st_size
    assert (listed["tiny-npr-int8"]["format"], listed["tiny-npr"]["format"]) == ("onnx", "safetensors")
    store_with_model.use("tiny-npr-int8")
    assert store_with_model.active_id() == "tiny-npr-int8"


def test_a_tampered_int8_model_is_refused(int8_model: Path, store_with_model: ModelStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(int8_model, bad)
    data = bytearray((bad / ONNX_FILE).read_bytes())
    data[-100] ^= 0xFF
    (bad / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the card"):
        store_with_model.import_folder(bad)
    with pytest.raises(ModelError, match="does not match the card"):
        Detector.from_folder(bad)
    assert "tiny-npr-int8" not in {m.id for m in store_with_model.list()}


def test_quantize_command_errors_are_clear(int8_model: Path, trained_model_dir: Path, tmp_path: Path, capsys) -> None:
    val_only = tmp_path / "val-only"
    (val_only / "val" / "real").mkdir(parents=True)
    args = ["quantize", "--model", str(trained_model_dir), "--out", str(tmp_path / "o"), "--model-id", "x-int8"]
    assert main([*args, "--data", str(val_only)]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["quantize", "--model", str(int8_model), "--data", str(val_only), "--out", "o", "--model-id", "y"]) == 2
    assert "only a single model with PyTorch weights" in capsys.readouterr().err


def test_the_cli_shows_and_leaves_it_as_it_is(int8_model: Path, store_with_model: ModelStore, capsys) -> None:
    store_with_model.import_folder(int8_model)
    assert main(["models", "info", "tiny-npr-int8"]) == 0
    assert json.loads(capsys.readouterr().out)["derived_from"]["id"] == "tiny-npr"
    assert main(["models", "list"]) == 0
    assert "user onnx" in capsys.readouterr().out  # the int8 model is ONNX-only
    assert main(["models", "export-onnx", "tiny-npr-int8"]) == 0
    assert "nothing to export" in capsys.readouterr().out


def test_the_default_is_the_int8_model_on_cpu_and_the_float_one_with_cuda(
    int8_model: Path, trained_model_dir: Path, sentry_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builtin = tmp_path / "builtin"
    shutil.copytree(trained_model_dir, builtin / "a-float")
    shutil.copytree(int8_model, builtin / "b-int8")
    store = ModelStore(builtin_dir=builtin, user_dir=tmp_path / "user")
    monkeypatch.setattr("sentry_image.engine.device.cuda_available", lambda: False)
    assert store.active_id() == "tiny-npr-int8"
    monkeypatch.setattr("sentry_image.engine.device.cuda_available", lambda: True)
    assert store.active_id() == "tiny-npr"
    store.use("tiny-npr-int8")  # a choice wins over the default
    assert store.active_id() == "tiny-npr-int8"
