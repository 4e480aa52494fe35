"""Open a model folder on the best backend here: PyTorch on CUDA when a GPU is present; otherwise ONNX
Runtime, which ran the built-in model's forward pass about 4x faster than PyTorch on this project's
2-core CPU machines (reports/README.md, ``benchmarks/latency.py --backend``); PyTorch on CPU when no
ONNX export can be had. The bundled app has no PyTorch, so it runs models that ship an ONNX export.
An ONNX-only model (an int8 quantisation) runs on ONNX Runtime on the CPU even where a GPU is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry_image.engine.backends import BACKENDS, Backend, OnnxBackend, TorchBackend, onnxruntime_installed
from sentry_image.engine.device import resolve_device, torch_installed
from sentry_image.errors import ModelError
from sentry_image.registry.card import onnx_only, read_card, shipped_onnx, verify_folder
from sentry_image.registry.loading import load_model_folder
from sentry_image.registry.onnx_export import onnx_for


def open_backend(folder: Path, device: str = "auto", backend: str = "auto") -> tuple[Backend, dict[str, Any]]:
    """Load a model folder with the backend chosen as described in the module docstring.

    ``backend`` forces ``onnx`` or ``torch``; a choice that cannot be met raises ``ModelError``
    (``ValueError`` for an unknown device or backend name)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} ({', '.join(BACKENDS)})")
    dev = resolve_device(device)
    if backend == "onnx" and dev == "cuda":
        raise ValueError("the ONNX backend runs on the CPU; use --backend torch for CUDA")
    card = read_card(folder)
    have_ort = onnxruntime_installed()
    if onnx_only(card):
        if backend == "torch" or not have_ort:
            raise ModelError(f"model {card['id']!r} is ONNX-only: it needs ONNX Runtime (and runs on the CPU)")
        return OnnxBackend(shipped_onnx(folder, card)), card  # checks model.onnx against the card's sha256
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
    model, card = load_model_folder(folder, card)
    return TorchBackend(model, dev), card
