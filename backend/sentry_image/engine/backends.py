"""What runs a model: PyTorch (CPU or CUDA) or ONNX Runtime (CPU). Both take a float32 batch
``N x 3 x h x w`` and return N logits.

Which one runs a given model folder is decided in ``engine/open_model.py``; this module knows nothing
of model folders or the registry.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentry_image.errors import ModelError

BACKENDS = ("auto", "onnx", "torch")


class Backend(Protocol):
    """A loaded model that scores tile batches."""

    name: str
    device: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits (float32, shape ``N``) for a float32 batch ``N x 3 x h x w``."""
        ...


class TorchBackend:
    """A PyTorch module on CPU or CUDA (float16 autocast on CUDA)."""

    name = "torch"

    def __init__(self, model: Any, device: str) -> None:
        import torch

        self.device = device
        self._torch = torch
        self._device = torch.device(device)
        self.model = model.to(self._device).eval()

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits for one batch."""
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self._device, non_blocking=True)
            if self.device == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    out = self.model(x)
            else:
                out = self.model(x)
        return out.float().cpu().numpy().reshape(-1)


class OnnxBackend:
    """An ONNX export run by ONNX Runtime on the CPU.

    One batch runs at a time: ONNX Runtime already spreads a batch over every core, so concurrent
    runs only multiply the memory for activations. Without its memory arena the session hands that
    memory back after each run instead of keeping the largest batch's worth (measured on the built-in
    model, batch 16: 226 MB resident instead of 361 MB, at the same speed). Keeping the arena was tried
    on the int8 default: a 1024² JPEG's model step 33-34 -> 25-28 ms through the service, but the CI
    soak's quiet memory then grew by up to 13% in a minute (its bound is 10%), so it stays off
    (reports/README.md, issue 11)."""

    name = "onnx"
    device = "cpu"

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False
        self._lock = threading.Lock()
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise ModelError(f"{path}: ONNX Runtime cannot load it ({exc})") from exc
        self._input = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Logits for one batch."""
        with self._lock:
            out = self.session.run(None, {self._input: batch})[0]
        return out.astype(np.float32).reshape(-1)


def onnxruntime_installed() -> bool:
    """Whether ONNX Runtime can be imported."""
    return importlib.util.find_spec("onnxruntime") is not None
