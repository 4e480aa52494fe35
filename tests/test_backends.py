"""Backends: ONNX Runtime and PyTorch give the same numbers; ONNX exports are checked, cached and
verified; an install without PyTorch (the bundled app) runs exported models and refuses the rest clearly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from conftest import encode, free_port, generated_like, photo_like, wait_until_loaded, write_model_card
from sentry_image.engine.detector import Detector
from sentry_image.errors import ModelError
from sentry_image.registry.card import ONNX_FILE, WEIGHTS_FILE, read_card, sha256_file, write_card
from sentry_image.registry.loading import save_weights
from sentry_image.registry.onnx_export import export_into_folder

REPO = Path(__file__).resolve().parents[1]
# Runs the CLI as the bundled app does: PyTorch, torchvision, timm and OpenCV cannot be imported.
NO_TORCH = (
    "import sys; sys.modules.update(torch=None, torchvision=None, timm=None, cv2=None, imwatermark=None); "
    "from sentry_image.cli import main; sys.exit(main(sys.argv[1:]))"
)


def images(n: int = 4) -> list[Image.Image]:
    """Mixed sizes: below the crop (one native-size tile), at it, and above it (several tiles)."""
    rng = np.random.default_rng(3)
    out = [photo_like(rng, 48), generated_like(rng, 64), photo_like(rng, 160), generated_like(rng, 96)]
    return out[:n]


def scores(detector: Detector, imgs: list[Image.Image]) -> np.ndarray:
    return np.array([s.logit for s in detector.score(imgs)])


def model_folder(root: Path, arch: str, options: dict, crop: int) -> Path:
    """An untrained model of ``arch`` saved as a valid model folder."""
    import torch

    from sentry_image.models import build_model

    torch.manual_seed(0)
    model = build_model(arch, options).eval()
    folder = root / arch
    folder.mkdir()
    save_weights(model, folder / WEIGHTS_FILE)
    write_model_card(
        folder,
        f"untrained-{arch}",
        {"name": arch, "options": options},
        input={"crop": crop, "mean": [0.5] * 3, "std": [0.5] * 3, "min_side": 32},
    )
    return folder


@pytest.mark.parametrize(
    ("arch", "options", "crop"),
    [
        ("npr", {"width": 8, "blocks": [1, 1]}, 64),
        ("npr", {"width": 8, "blocks": [1, 1], "residuals": ["nearest2", "box2", "highpass"]}, 64),
        ("spectral", {"width": 8}, 64),
        ("timm", {}, 64),
    ],
)
def test_onnx_matches_torch_for_every_architecture(tmp_path: Path, arch: str, options: dict, crop: int) -> None:
    folder = model_folder(tmp_path, arch, options, crop)
    onnx = Detector.from_folder(folder, backend="onnx")
    torch_ = Detector.from_folder(folder, backend="torch")
    assert (onnx.backend.name, torch_.backend.name) == ("onnx", "torch")
    np.testing.assert_allclose(scores(onnx, images()), scores(torch_, images()), atol=1e-3)


def test_builtin_model_same_verdicts_on_both_backends() -> None:
    from sentry_image.registry.store import ModelStore

    folder = ModelStore().get("sentry-effnet-lite1").folder  # the built-in model with PyTorch weights
    onnx, torch_ = Detector.from_folder(folder, backend="onnx"), Detector.from_folder(folder, backend="torch")
    imgs = images() + [photo_like(np.random.default_rng(9), 500)]
    a, b = onnx.score(imgs), torch_.score(imgs)
    np.testing.assert_allclose([s.score for s in a], [s.score for s in b], atol=1e-4)
    assert [s.verdict for s in a] == [s.verdict for s in b]


def test_auto_uses_onnx_on_cpu_and_caches_the_export(trained_model_dir: Path, sentry_home: Path) -> None:
    first = Detector.from_folder(trained_model_dir)
    assert first.backend.name == "onnx" and first.device == "cpu"
    cached = list((sentry_home / "cache" / "onnx").glob("*.onnx"))
    assert len(cached) == 1 and read_card(trained_model_dir)["sha256"] in cached[0].name
    stamp = cached[0].stat().st_mtime_ns
    Detector.from_folder(trained_model_dir)
    assert cached[0].stat().st_mtime_ns == stamp  # reused, not exported again


def test_unknown_backend_and_onnx_on_cuda_are_refused(trained_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        Detector.from_folder(trained_model_dir, backend="tensorrt")
    with pytest.raises(ValueError):
        Detector.from_folder(trained_model_dir, device="cuda", backend="onnx")


@pytest.fixture
def exported(trained_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model with model.onnx shipped in the folder (``models export-onnx``)."""
    folder = tmp_path / "exported"
    shutil.copytree(trained_model_dir, folder)
    export_into_folder(folder)
    return folder


def test_export_into_folder_names_the_file_in_the_card(exported: Path, sentry_home: Path) -> None:
    card = read_card(exported)
    assert card["onnx"]["sha256"] == sha256_file(exported / ONNX_FILE)
    assert card["onnx"]["weights_sha256"] == card["sha256"]
    assert Detector.from_folder(exported).backend.name == "onnx"
    assert not (sentry_home / "cache" / "onnx").exists()  # the shipped file is used, nothing exported


def test_tampered_onnx_file_is_refused(exported: Path) -> None:
    with open(exported / ONNX_FILE, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        Detector.from_folder(exported)


def test_onnx_from_other_weights_is_refused(exported: Path) -> None:
    card = read_card(exported)
    card["onnx"]["weights_sha256"] = "0" * 64
    write_card(exported, card)
    with pytest.raises(ModelError, match="other weights"):
        Detector.from_folder(exported)


def test_missing_onnx_named_in_card_is_refused(exported: Path) -> None:
    (exported / ONNX_FILE).unlink()
    with pytest.raises(ModelError, match="missing"):
        Detector.from_folder(exported)


def test_import_keeps_the_shipped_export(exported: Path, empty_builtin: Path) -> None:
    from sentry_image.registry.store import ModelStore

    model = ModelStore(builtin_dir=empty_builtin).import_folder(exported)
    assert (model.folder / ONNX_FILE).is_file() and "onnx" in model.card


# ---- an install without PyTorch (the bundled app) ----


def no_torch(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_without_torch_check_runs_the_shipped_export(exported: Path, sentry_home: Path, tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(encode(generated_like(np.random.default_rng(1), 288)))  # big enough for every analyzer
    r = no_torch("check", str(img), "--model", str(exported), "--json", home=sentry_home)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[0])
    want = Detector.from_folder(exported, backend="torch").score([Image.open(img).convert("RGB")])[0]
    assert abs(got["score"] - want.score) < 1e-4 and got["verdict"] == want.verdict
    assert not [e for e in got["evidence"] if e["signal"] == "analyzer_error"], got["evidence"]  # all analyzers ran


def test_without_torch_a_model_without_export_is_refused_clearly(
    trained_model_dir: Path, sentry_home: Path, tmp_path: Path
) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(encode(photo_like(np.random.default_rng(1), 96)))
    r = no_torch("check", str(img), "--model", str(trained_model_dir), home=sentry_home)
    assert r.returncode == 3 and "no ONNX export" in r.stderr
    r = no_torch("models", "import", str(trained_model_dir), home=sentry_home)
    assert r.returncode == 1 and "export-onnx" in r.stderr
    assert not any((sentry_home / "models").glob("*/model.json"))


def test_without_torch_training_says_it_needs_torch(sentry_home: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    r = no_torch(
        "train", "--arch", "npr", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"), home=sentry_home
    )
    assert r.returncode == 2 and "needs PyTorch" in r.stderr


def test_without_torch_the_service_serves_an_exported_model(exported: Path, sentry_home: Path) -> None:
    assert no_torch("models", "import", str(exported), home=sentry_home).returncode == 0
    assert no_torch("models", "use", "tiny-npr", home=sentry_home).returncode == 0
    port = free_port()
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(sentry_home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", NO_TORCH, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        health = wait_until_loaded(base)
        assert health["backend"] == "onnx" and health["device"] == "cpu"
        token = (sentry_home / "token").read_text().strip()
        body = encode(generated_like(np.random.default_rng(5), 96))
        r = requests.post(
            f"{base}/detect", data=body, headers={"X-Sentry-Token": token, "Content-Type": "image/png"}, timeout=30
        )
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        want = Detector.from_folder(exported, backend="torch").score([generated_like(np.random.default_rng(5), 96)])[0]
        assert abs(result["pixel_score"] - want.score) < 1e-4
    finally:
        proc.terminate()
        proc.wait(timeout=20)
