"""Kill-anywhere tests: real subprocesses rewriting state are killed with SIGKILL at random moments; the
next reader must find the old state or the new one, never a partial one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentry_image.atomic_files import remove_leftovers

WRITER = Path(__file__).with_name("state_writers.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def kill_at_random(home: Path, scenario: str, *args: str, rounds: int, longest_s: float, seed: int) -> None:
    """Start the writer ``rounds`` times and SIGKILL it a random time after it is ready."""
    rng = random.Random(seed)
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(home)}
    for _ in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), scenario, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"ready", proc.stderr.read().decode() if proc.stderr else line
        time.sleep(rng.uniform(0.0, longest_s))
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "writer died"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        yield


def test_settings_survive_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seen = set()
    for _ in kill_at_random(home, "settings", rounds=12, longest_s=0.6, seed=1):
        path = home / "settings.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))  # never partial JSON
            assert isinstance(data["counter"], int) and data["blob"].startswith("x" * 300_000)
            seen.add(data["counter"])
    assert len(seen) > 1  # the writer really was writing when killed


def test_pairing_token_survives_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for _ in kill_at_random(home, "token", rounds=10, longest_s=0.4, seed=2):
        token = home / "token"
        if token.exists():  # the old state is "no token"; the new one is a whole token
            assert len(token.read_text(encoding="utf-8")) >= 32
            assert token.stat().st_mode & 0o777 == 0o600


def test_model_store_survives_sigkill(tmp_path: Path, trained_model_dir: Path) -> None:
    from sentry_image.registry.loading import check_model_folder
    from sentry_image.registry.store import ModelStore

    home = tmp_path / "home"
    empty = trained_model_dir.parent / "no-builtin"
    for _ in kill_at_random(home, "store", str(trained_model_dir), rounds=10, longest_s=2.0, seed=3):
        models = ModelStore(builtin_dir=empty, user_dir=home / "models").list()
        assert [m.id for m in models] in ([], ["tiny-npr"])
        for m in models:
            check_model_folder(m.folder)  # whole: card, weights and their sha256
    store = ModelStore(builtin_dir=empty, user_dir=home / "models")
    store.clean_leftovers(older_than_s=0)
    assert not [p for p in (home / "models").iterdir() if p.name.startswith(".")]


def test_training_checkpoint_survives_sigkill(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from sentry_image.training.checkpoint import load_checkpoint

    ckpt = tmp_path / "ckpt"
    epochs = set()
    for _ in kill_at_random(tmp_path / "home", "checkpoint", str(ckpt), rounds=8, longest_s=1.5, seed=4):
        state = load_checkpoint(ckpt)
        if state is None:
            continue
        epoch = state["epoch"]
        assert state["model"]["w"].eq(float(epoch)).all() and state["optimizer"] == {"lr": epoch}
        assert state["step"] == epoch * 10 and state["history"] == [{"e": epoch}]
        last = load_file(str(ckpt / "last.safetensors"))["w"]  # whole, this epoch or the one before
        assert last.min() == last.max() and last[0, 0].item() in (epoch, epoch - 1)
        epochs.add(epoch)
    assert len(epochs) > 1
    remove_leftovers(ckpt, older_than_s=0)
    assert sorted(p.name for p in ckpt.iterdir()) == ["best.safetensors", "last.safetensors", "state.pt"]
