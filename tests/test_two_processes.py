"""Two processes, one data folder: a second service on a taken port says so, and a model the CLI
imports and selects while the service runs is used by the service's next request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import requests

from conftest import encode, free_port, photo_like, wait_until_loaded

CLI = str(Path(sys.executable).with_name("sentry-image"))


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(home)}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_second_service_and_cli_on_one_data_folder(sentry_home: Path, trained_model_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(sentry_home)}
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        health = wait_until_loaded(base)
        assert health["ready"], health
        second = cli(sentry_home, "serve", "--port", str(port), timeout=60)
        assert second.returncode == 1
        assert f"port {port} is already in use by another Sentry-Image service" in second.stderr, second.stderr

        token = (sentry_home / "token").read_text().strip()
        headers = {"X-Sentry-Token": token}
        before = requests.get(f"{base}/models", headers=headers, timeout=10).json()
        assert "tiny-npr" not in {m["id"] for m in before["models"]}

        assert cli(sentry_home, "models", "import", str(trained_model_dir)).returncode == 0
        assert cli(sentry_home, "models", "use", "tiny-npr").returncode == 0
        after = requests.get(f"{base}/models", headers=headers, timeout=10).json()
        assert after["active"] == "tiny-npr" and "tiny-npr" in {m["id"] for m in after["models"]}
        image = encode(photo_like(np.random.default_rng(8), 96), "PNG")
        r = requests.post(f"{base}/detect", data=image, headers={**headers, "Content-Type": "image/png"}, timeout=60)
        assert r.status_code == 200 and r.json()["model"] == "tiny-npr", r.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_port_held_by_another_program_is_named(sentry_home: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        r = cli(sentry_home, "serve", "--port", str(port), timeout=60)
    assert r.returncode == 1
    assert f"port {port} is already in use by another program; pass --port" in r.stderr, r.stderr
