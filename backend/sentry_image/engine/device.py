"""Device selection: CUDA when PyTorch sees a GPU, else CPU (also when PyTorch is not installed, as in
the bundled app)."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys
from pathlib import Path


def torch_installed() -> bool:
    """Whether PyTorch can be imported (the bundled app runs without it)."""
    return importlib.util.find_spec("torch") is not None


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver loaded (checked without importing PyTorch)."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()
    return shutil.which("nvidia-smi") is not None


@functools.cache
def cuda_available() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU. PyTorch (about 400 MB of memory and 2 s) is
    imported only where an NVIDIA driver is present, so the CPU path never loads it."""
    if not torch_installed() or not nvidia_driver_present():
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
