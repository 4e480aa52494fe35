"""The bundled app (PyInstaller, build_scripts/build_bundle.py), built once per test session: no PyTorch
inside, the built-in model on ONNX Runtime with the same scores, the service and the command line from
the bundle, and the desktop app in a real window under Xvfb with its tray, closed cleanly.

Set SENTRY_BUNDLE to an already built bundle folder to skip the build (about a minute on 2 cores)."""

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

from conftest import encode, free_port, generated_like, photo_like, wait_until_loaded
from sentry_image.registry.card import sha256_file

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"

pytest.importorskip("PyInstaller", reason="PyInstaller (requirements-dev.txt) builds the bundle")


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle folder (holding the ``sentry-image`` executable)."""
    if os.environ.get("SENTRY_BUNDLE"):
        return Path(os.environ["SENTRY_BUNDLE"])
    sys.path.insert(0, str(ROOT / "build_scripts"))
    try:
        from build_bundle import build
    finally:
        sys.path.pop(0)
    return build(tmp_path_factory.mktemp("bundle"), archive=False)


PROBE_ID = "sentry-clip-b16-layers"


def builtin_scores(images: list[Image.Image], model_id: str) -> list[float]:
    """What the full install says with a built-in model: on PyTorch, where the model has PyTorch weights
    (the CLIP probe runs on ONNX Runtime everywhere)."""
    from sentry_image.engine.load import load_detector
    from sentry_image.registry.store import ModelStore

    model = ModelStore().get(model_id)
    backend = "torch" if model.card.get("format", "safetensors") == "safetensors" and model_id != PROBE_ID else "auto"
    return [s.score for s in load_detector(model.folder, backend=backend).score(images)]


def test_bundle_has_no_pytorch_and_ships_the_onnx_export(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (bundle / "sentry-image").is_file()
    assert not (internal / "torch").exists() and not (internal / "timm").exists()
    cards = list((internal / "sentry_image" / "builtin_models").glob("*/model.json"))
    assert cards
    assert (internal / "onnx").is_dir()  # the probe exposes its backbone's layers with it
    for card_path in cards:  # every built-in model runs here: its ONNX export, or its model.onnx is the model
        card = json.loads(card_path.read_text())
        if card["architecture"]["name"] == "clip-layers":
            continue  # its backbone is ONNX already (fetched into the data folder), its head a weighted sum
        onnx_sha = card["sha256"] if card.get("format") == "onnx" else card["onnx"]["sha256"]
        assert sha256_file(card_path.parent / "model.onnx") == onnx_sha


def test_bundle_is_pruned_to_what_the_app_loads(bundle: Path) -> None:
    qt = bundle / "_internal" / "PyQt6" / "Qt6"
    assert not (qt / "qml").exists() and not list((qt / "lib").glob("libQt6Quick3D*"))
    assert sorted(p.name for p in (qt / "translations" / "qtwebengine_locales").iterdir()) == ["en-US.pak"]
    assert (qt / "lib" / "libQt6WebEngineCore.so.6").is_file()  # what the window needs stays
    assert (qt / "libexec" / "QtWebEngineProcess").is_file()


@pytest.mark.parametrize("model_id", [PROBE_ID, "sentry-effnet-lite1", "sentry-effnet-lite1-int8"])
def test_bundled_check_gives_the_full_install_scores(bundle: Path, sentry_home: Path, tmp_path: Path, model_id) -> None:
    rng = np.random.default_rng(11)
    images = [photo_like(rng, 300), generated_like(rng, 288)]
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        paths[-1].write_bytes(encode(img))
    r = subprocess.run(
        [str(bundle / "sentry-image"), "check", "--json", "--model", model_id, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SENTRY_IMAGE_HOME": str(sentry_home)},
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    np.testing.assert_allclose([row["pixel_score"] for row in rows], builtin_scores(images, model_id), atol=1e-4)
    for row in rows:
        assert not [e for e in row["evidence"] if e["signal"] == "analyzer_error"], row["evidence"]


def test_bundled_service_answers_on_onnx(bundle: Path, sentry_home: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(bundle / "sentry-image"), "serve", "--port", str(port)],
        env={**os.environ, "SENTRY_IMAGE_HOME": str(sentry_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        health = wait_until_loaded(base)
        assert (health.get("backend"), health.get("device"), health.get("ready")) == ("onnx", "cpu", True)
        img = generated_like(np.random.default_rng(2), 256)
        token = (sentry_home / "token").read_text().strip()
        r = requests.post(
            f"{base}/detect",
            data=encode(img),
            headers={"X-Sentry-Token": token, "Content-Type": "image/png"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        assert result["model"] == PROBE_ID  # the default
        assert abs(result["pixel_score"] - builtin_scores([img], result["model"])[0]) < 1e-4
        assert requests.post(f"{base}/detect", data=encode(img), timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("xvfb-run", "import", "trayer", "dbus-run-session")),
    reason="xvfb-run, ImageMagick's import, trayer and dbus-run-session are needed for the window test",
)
def test_bundled_desktop_app_checks_files_and_closes_cleanly(bundle: Path, sentry_home: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    files = []
    for name, img in (("photo.jpg", photo_like(rng, 320)), ("generated.png", generated_like(rng, 320))):
        files.append(str(tmp_path / name))
        img.save(files[-1])
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "bundle-desktop.png"
    shot.unlink(missing_ok=True)
    inner = 'trayer --edge top --SetDockType true & sleep 1; "$0" "$@"; rc=$?; kill %1 2>/dev/null; exit $rc'
    port = free_port()
    cmd = [sys.executable, str(ROOT / "tests" / "bundle_window.py"), str(bundle / "sentry-image"), str(port)]
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "dbus-run-session", "--", "sh", "-c", inner, *cmd]
        + [str(shot), *files],
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "SENTRY_IMAGE_HOME": str(sentry_home), "PYSTRAY_BACKEND": "xorg"},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = json.loads(lines[-1])
    assert "error" not in out, out
    assert out["check_finished"] and out["window"], out
    assert out["health"] == {"device": "cpu", "backend": "onnx", "ready": True}
    # The app started the service and the tray from the bundle's own executable.
    assert any(c.endswith(f"sentry-image serve --port {port}") for c in out["children"]), out["children"]
    assert any("--multiprocessing-fork" in c for c in out["children"]), out["children"]
    assert out["exit_code"] == 0
    assert out["service_after_close"] == "stopped" and out["children_alive_after_close"] == [], out
    assert shot.is_file() and shot.stat().st_size > 10_000
