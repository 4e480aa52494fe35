"""Training checkpoints that survive a kill at any moment.

One file, ``state.pt``, is the commit point: it holds the last and the best weights together with
the optimizer, step, epoch and history, and it is replaced atomically. A resumed run reads only
that file, so the weights always match the epoch they were saved at. ``last.safetensors`` and
``best.safetensors`` are written after it (atomically too) for people and tools that want the
weights alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from sentry_image.atomic_files import atomic_path

STATE_FILE = "state.pt"


def save_checkpoint(
    ckpt_dir: Path,
    weights: dict[str, torch.Tensor],
    best_weights: dict[str, torch.Tensor],
    optimizer: dict[str, Any],
    *,
    step: int,
    epoch: int,
    best_auc: float,
    history: list[dict[str, Any]],
) -> None:
    """Commit one epoch's state (CPU tensors expected), then refresh the safetensors copies."""
    state = {
        "model": weights,
        "best_model": best_weights,
        "optimizer": optimizer,
        "step": step,
        "epoch": epoch,
        "best_auc": best_auc,
        "history": history,
    }
    with atomic_path(ckpt_dir / STATE_FILE) as tmp:
        torch.save(state, tmp)
    for name, tensors in (("last.safetensors", weights), ("best.safetensors", best_weights)):
        with atomic_path(ckpt_dir / name) as tmp:
            save_file(tensors, str(tmp))


def load_checkpoint(ckpt_dir: Path) -> dict[str, Any] | None:
    """The committed state, or None when no epoch has been committed yet."""
    path = ckpt_dir / STATE_FILE
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
