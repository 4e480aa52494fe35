"""Load a model folder into a ready-to-run module, refusing anything that does not check out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentry_image.atomic_files import atomic_path
from sentry_image.errors import ModelError
from sentry_image.registry.card import (
    FUSION,
    PROBE,
    WEIGHTS_FILE,
    onnx_only,
    read_card,
    shipped_onnx,
    verify_folder,
)

if TYPE_CHECKING:
    from torch import nn


def check_model_folder(folder: Path) -> dict[str, Any]:
    """Everything this install can check before accepting a model: with PyTorch, the strict load;
    without it (the bundled app), the card, the sha256s and that ONNX Runtime loads the shipped export."""
    from sentry_image.engine.device import torch_installed

    card = read_card(folder)
    if card["architecture"]["name"] == FUSION:
        from sentry_image.engine.fusion_folder import part_folders, read_combiner

        verify_folder(folder, card)
        read_combiner(folder, card)
        for part in part_folders(folder, card).values():
            check_model_folder(part)
        return card
    if card["architecture"]["name"] == PROBE:
        from sentry_image.probe.detector import ProbeDetector

        ProbeDetector.from_folder(folder)  # the head's sha256 and shapes, and the backbone (verified)
        return card
    if torch_installed() and not onnx_only(card):
        return load_model_folder(folder)[1]
    from sentry_image.engine.backends import OnnxBackend

    if not onnx_only(card):  # an ONNX-only model's weights are its model.onnx: shipped_onnx checks them
        verify_folder(folder, card)
    path = shipped_onnx(folder, card)
    if path is None:
        raise ModelError(
            f"model {card['id']!r} has no ONNX export, and this install has no PyTorch to run it "
            "(run `sentry-image models export-onnx` on it in a full install)"
        )
    OnnxBackend(path)
    return card


def load_model_folder(folder: Path, card: dict[str, Any] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Validate ``folder`` (card schema, known architecture, sha256, strict state dict) and return the
    model in eval mode with its card (``card``: the folder's card when the caller has read it already).
    Raises ``ModelError`` with the reason otherwise. Needs PyTorch."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from sentry_image.models import build_model, known_architectures

    card = card or read_card(folder)
    if onnx_only(card):
        raise ModelError(f"model {card['id']!r} is ONNX-only (model.onnx, no PyTorch weights): it runs on ONNX Runtime")
    arch = card["architecture"]["name"]
    if arch not in known_architectures():
        raise ModelError(f"unknown architecture {arch!r}; known: {', '.join(known_architectures())}")
    verify_folder(folder, card)
    weights = folder / WEIGHTS_FILE
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"{weights}: unreadable safetensors file ({exc})") from exc
    model = build_model(arch, card["architecture"].get("options"))
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit architecture {arch!r}: {str(exc).splitlines()[0]}") from exc
    model.eval()
    return model, card


def save_weights(model: nn.Module, path: Path, half: bool = True) -> None:
    """Save ``model``'s state dict as safetensors (float16 for floating tensors when ``half``)."""
    from safetensors.torch import save_file

    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        state[k] = v.half() if (half and v.is_floating_point()) else v
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


__all__ = ["check_model_folder", "load_model_folder", "save_weights"]
