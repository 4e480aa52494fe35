"""Shared fixtures: synthetic images, a real tiny model trained by the project's own loop, an isolated
data folder per test, and the Flask app."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Every test gets an empty data folder (``sentry_home``), but the fetched backbones are shared: they stay where
# ``./test.sh``'s install step put them (the user's data folder), never fetched at test time.
if "SENTRY_IMAGE_BACKBONES" not in os.environ:
    from sentry_image.paths import backbones_dir

    os.environ["SENTRY_IMAGE_BACKBONES"] = str(backbones_dir())

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data" / "manifest.csv"
SHARED_WEIGHTS = SHARED / "weights" / "taesd"
TINY_NPR = {"width": 8, "blocks": [1, 1]}


def photo_like(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A smooth random 'photo': low-frequency colour fields plus mild sensor-like noise."""
    base = rng.random((size // 16 + 1, size // 16 + 1, 3))
    img = Image.fromarray((base * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def generated_like(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """An 'AI' image: content made at half resolution, nearest-neighbour up-sampled, with the periodic
    grid pattern that transposed convolutions leave (strong enough to survive JPEG re-compression)."""
    small = np.asarray(photo_like(rng, size // 2), dtype=np.float32)
    up = small.repeat(2, axis=0).repeat(2, axis=1)
    yy, xx = np.mgrid[0:size, 0:size]
    grid = 16.0 * ((yy + xx) % 2 - 0.5)
    return Image.fromarray(np.clip(up + grid[..., None], 0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    """Encode an image to bytes."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def write_model_card(folder: Path, model_id: str, architecture: dict, **fields) -> None:
    """Write a valid card for the weights in ``folder`` (default labels, thresholds, calibration)."""
    from sentry_image.registry.card import WEIGHTS_FILE, sha256_file, write_card

    card = {
        "id": model_id,
        "name": model_id.replace("-", " "),
        "version": "0",
        "architecture": architecture,
        "labels": ["real", "ai"],
        "thresholds": {"likely_ai": 0.7, "likely_real": 0.3},
        "calibration": {"temperature": 1.0, "shift": 0.0},
        "license": "Apache-2.0",
        "sha256": sha256_file(folder / WEIGHTS_FILE),
        **fields,
    }
    write_card(folder, card)


def make_label_folders(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``root/{train,val}/{real,fake}`` with synthetic images (real: JPEG q95 and PNG; fake: PNG)."""
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for label in ("real", "fake"):
            folder = root / "synthetic" / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = photo_like(rng) if label == "real" else generated_like(rng)
                img.save(folder / f"{i:03d}.png")
    return root


def tell_tale_dataset(root: Path) -> Path:
    """``val/{real,fake}`` whose files give away more than their pictures: a camera-like JPEG with EXIF and
    a sideways orientation tag, a lossless WebP, and one file that does not decode."""
    rng = np.random.default_rng(3)
    (root / "val" / "real").mkdir(parents=True)
    (root / "val" / "fake").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Camera Maker", 6  # Make; Orientation: rotate 90°
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(
        root / "val" / "real" / "camera.jpg", quality=92, exif=exif
    )
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
        root / "val" / "fake" / "generated.webp", lossless=True, exif=Image.Exif()
    )
    (root / "val" / "fake" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return root


@pytest.fixture(scope="session")
def clip_backbone():
    """The real CLIP backbone's card, verified; fails (never skips) when ``./test.sh`` has not fetched it."""
    from sentry_image.backbones.catalog import CLIP_VIT_B16
    from sentry_image.backbones.store import verify
    from sentry_image.errors import SentryError

    try:
        verify(CLIP_VIT_B16)
    except SentryError as exc:
        pytest.fail(f"{exc.message} (./test.sh fetches it in its install step)")
    return CLIP_VIT_B16


def write_probe_folder(folder: Path, model_id: str, head=None, **options) -> Path:  # noqa: ANN001
    """A probe model folder on the real CLIP backbone: ``head`` (a ``LinearHead``), else a random one."""
    from sentry_image.backbones.catalog import CLIP_VIT_B16
    from sentry_image.probe.detector import PROBE, feature_dim
    from sentry_image.probe.head import FeatureSpec, LinearHead
    from sentry_image.registry.card import WEIGHTS_FILE

    options = {"backbone": CLIP_VIT_B16.id, "native_crops": 1, **FeatureSpec().options(), **options}
    if head is None:
        dim = feature_dim(FeatureSpec.from_options(options), CLIP_VIT_B16)
        rng = np.random.default_rng(0)
        head = LinearHead(
            rng.normal(size=dim).astype(np.float32),
            np.full(dim, 2.0, np.float32),
            (rng.normal(size=dim) / np.sqrt(dim)).astype(np.float32),
            0.1,
        )
    folder.mkdir(parents=True, exist_ok=True)
    head.save(folder / WEIGHTS_FILE)
    write_model_card(
        folder,
        model_id,
        {"name": PROBE, "options": options},
        input={"crop": 224, "mean": list(CLIP_VIT_B16.mean), "std": list(CLIP_VIT_B16.std)},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small two-class dataset on disk."""
    return make_label_folders(tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture(scope="session")
def trained_model_dir(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real NPR model trained for a few steps on ``tiny_dataset`` by ``sentry_image.training``."""
    from sentry_image.training.loop import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-run")
    cfg = TrainConfig(
        arch="npr",
        data=[str(tiny_dataset)],
        out=str(out),
        arch_options=TINY_NPR,
        crop=64,
        epochs=2,
        samples_per_epoch=640,  # enough steps for BatchNorm's running statistics to settle
        batch_size=8,
        lr=3e-3,
        workers=0,
        model_id="tiny-npr",
        model_name="Tiny NPR",
    )
    return train(cfg)


@pytest.fixture(autouse=True)
def sentry_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-test data folder (models, settings, token): tests never touch the user's own."""
    home = tmp_path / "home"
    monkeypatch.setenv("SENTRY_IMAGE_HOME", str(home))
    return home


@pytest.fixture
def empty_builtin(tmp_path: Path) -> Path:
    """A built-in models folder with nothing in it (the state before a default model ships)."""
    d = tmp_path / "builtin"
    d.mkdir()
    return d


@pytest.fixture
def store_with_model(sentry_home: Path, empty_builtin: Path, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A model store holding only the tiny trained model (also what any ``ModelStore()`` sees in the test)."""
    from sentry_image.registry.store import ModelStore

    monkeypatch.setattr("sentry_image.paths.BUILTIN_MODELS_DIR", empty_builtin)
    store = ModelStore(builtin_dir=empty_builtin)
    store.import_folder(trained_model_dir)
    return store


TOKEN = "t" * 43


@pytest.fixture
def client(store_with_model):
    """A Flask test client of the real app on the tiny model, with the token header preset."""
    from sentry_image.service.app import create_app
    from sentry_image.service.config import ServiceConfig

    app = create_app(ServiceConfig(), TOKEN, store=store_with_model)
    c = app.test_client()
    c.environ_base.update({"HTTP_HOST": "127.0.0.1:8765"})
    return c


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app, threads: int = 4):  # noqa: ANN001, ANN201
    """Serve a WSGI app with the real waitress server on a free loopback port; yields the port."""
    from waitress.server import create_server

    with running(create_server(app, host="127.0.0.1", port=0, threads=threads)) as port:
        yield port


@contextlib.contextmanager
def running(server):  # noqa: ANN001, ANN201
    """Run a waitress server's loop in a thread; yields its port and stops the loop before closing the
    sockets (closing under a running loop makes select() fail)."""
    import threading

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True, name="waitress")
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop.set()
        thread.join(timeout=10)
        server.close()


def wait_until_loaded(base: str, timeout: float = 60) -> dict:
    """Poll ``base/health`` of a starting service until its model is loaded; returns the last health."""
    import time

    import requests

    health: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not health.get("backend"):
        try:
            health = requests.get(f"{base}/health", timeout=2).json()
        except requests.ConnectionError:
            time.sleep(0.2)
    return health


def auth(extra: dict | None = None) -> dict:
    """Headers carrying the test token."""
    return {"X-Sentry-Token": TOKEN, **(extra or {})}


os.environ.setdefault("OMP_NUM_THREADS", "2")
