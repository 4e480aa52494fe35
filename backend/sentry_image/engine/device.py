"""Device selection: CUDA when present, else CPU."""

from __future__ import annotations

import torch


def resolve_device(choice: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU raises ``ValueError``."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA GPU is available")
    if choice not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {choice!r} (auto, cpu or cuda)")
    return torch.device(choice)
