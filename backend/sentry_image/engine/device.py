"""Device selection: CUDA when PyTorch sees a GPU, else CPU (also when PyTorch is not installed, as in
the bundled app)."""

from __future__ import annotations

import importlib.util


def torch_installed() -> bool:
    """Whether PyTorch can be imported (the bundled app runs without it)."""
    return importlib.util.find_spec("torch") is not None


def cuda_available() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU."""
    if not torch_installed():
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(choice: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"``: ``auto`` picks CUDA when available; ``cuda`` without a GPU raises ``ValueError``."""
    if choice not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {choice!r} (auto, cpu or cuda)")
    if choice == "auto":
        return "cuda" if cuda_available() else "cpu"
    if choice == "cuda" and not cuda_available():
        raise ValueError("--device cuda was asked for, but no CUDA GPU is available")
    return choice
