"""What runs a model: PyTorch (CPU or CUDA) or ONNX Runtime (CPU). Both take a float32 batch
``N x 3 x h x w`` and return N logits.

``open_backend`` picks one: PyTorch on CUDA when a GPU is present; otherwise ONNX Runtime, which ran
the built-in model's forward pass about 4x faster than PyTorch on this project's 2-core CPU machines
(reports/README.md, ``benchmarks/latency.py --backend``); PyTorch on CPU when no ONNX export can be had. The bundled app
has no PyTorch, so it runs models that ship an ONNX export.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentry_image.engine.device import resolve_device, torch_installed
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
    model, batch 16: 226 MB resident instead of 361 MB, at the same speed)."""

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


def open_backend(folder: Path, device: str = "auto", backend: str = "auto") -> tuple[Backend, dict[str, Any]]:
    """Load a model folder with the backend chosen as described in the module docstring.

    ``backend`` forces ``onnx`` or ``torch``; a choice that cannot be met raises ``ModelError``
    (``ValueError`` for an unknown device or backend name)."""
    from sentry_image.registry.card import read_card
    from sentry_image.registry.loading import verify_folder
    from sentry_image.registry.onnx_export import onnx_for

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} ({', '.join(BACKENDS)})")
    dev = resolve_device(device)
    if backend == "onnx" and dev == "cuda":
        raise ValueError("the ONNX backend runs on the CPU; use --backend torch for CUDA")
    card = read_card(folder)
    have_ort = onnxruntime_installed()
    if backend == "onnx" or (backend == "auto" and dev == "cpu" and have_ort):
        verify_folder(folder, card)
        path = onnx_for(folder, card) if have_ort else None
        if path is not None:
            return OnnxBackend(path), card
        if backend == "onnx" or not torch_installed():
            raise ModelError(
                f"model {card['id']!r} has no ONNX export and none can be made here "
                "(exporting needs PyTorch: run `sentry-image models export-onnx` in a full install)"
            )
    if not torch_installed():
        raise ModelError("PyTorch is not installed and ONNX Runtime is missing: no way to run a model")
    from sentry_image.registry.loading import load_model_folder

    model, card = load_model_folder(folder)
    return TorchBackend(model, dev), card
