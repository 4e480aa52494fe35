"""On a machine without an NVIDIA GPU, checking images never imports PyTorch: the built-in model ships
its ONNX export and ONNX Runtime runs it (PyTorch costs ~2 s of start-up and ~700 MB of memory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, photo_like
from sentry_image.engine.device import nvidia_driver_present

pytestmark = pytest.mark.skipif(nvidia_driver_present(), reason="with a GPU, PyTorch runs the model")

PROBE = """
import json, sys
from sentry_image.cli import main
command = json.loads(sys.argv[1])
if command[0] == "serve":
    from sentry_image.service.app import create_app
    from sentry_image.service.config import ServiceConfig
    client = create_app(ServiceConfig(), "t" * 43).test_client()
    r = client.post("/api/v1/detect", data=open(command[1], "rb").read(),
                    headers={"Host": "127.0.0.1", "X-Sentry-Token": "t" * 43, "Content-Type": "image/jpeg"})
    assert r.status_code == 200 and r.get_json()["results"][0]["verdict"], r.get_json()
    rc = 0 if client.get("/api/v1/health", headers={"Host": "127.0.0.1"}).get_json()["backend"] == "onnx" else 1
else:
    rc = main(command)
loaded = sorted(m for m in ("torch", "timm", "torchvision") if m in sys.modules)
print("LOADED", loaded)
sys.exit(rc or (3 if loaded else 0))
"""


@pytest.mark.parametrize("command", [["check", "--json"], ["inspect"], ["serve"]], ids=["check", "inspect", "serve"])
def test_cpu_commands_do_not_import_torch(command: list[str], tmp_path: Path) -> None:
    import json

    image = tmp_path / "photo.jpg"
    image.write_bytes(encode(photo_like(np.random.default_rng(2), 256), "JPEG"))
    env = {**os.environ, "SENTRY_IMAGE_HOME": str(tmp_path / "home")}  # fresh: no cached export to lean on
    r = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([*command, str(image)])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LOADED []" in r.stdout and r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
