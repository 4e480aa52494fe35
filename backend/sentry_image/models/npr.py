"""NPR detector: neighbouring pixel relationships (Tan et al., "Rethinking the Up-Sampling Operations
in CNN-based Generative Network for Generalizable Deepfake Detection", CVPR 2024).

The up-sampling layers of generators leave a local correlation between neighbouring pixels. NPR
exposes it as the residual ``x - up(down(x))`` (nearest-neighbour, factor 2) and classifies that
residual with a shallow ResNet. More than one residual can be stacked as input channels
(``RESIDUALS``): ``nearest2`` (the paper's), ``box2`` (each pixel minus its 2x2 block mean) and
``highpass`` (each pixel minus its 3x3 neighbourhood mean, blind to the 2x2 grid's phase).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """Return ``x - up(down(x))`` with nearest-neighbour resampling by a factor of 2."""
    h, w = x.shape[-2:]
    h2, w2 = h - h % 2, w - w % 2
    x = x[..., :h2, :w2]
    down = F.interpolate(x, scale_factor=0.5, mode="nearest")
    up = F.interpolate(down, size=(h2, w2), mode="nearest")
    return x - up


def box2_residual(x: torch.Tensor) -> torch.Tensor:
    """Each pixel minus the mean of its 2x2 block (even crop)."""
    h, w = x.shape[-2:]
    x = x[..., : h - h % 2, : w - w % 2]
    return x - F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="nearest")


def highpass_residual(x: torch.Tensor) -> torch.Tensor:
    """Each pixel minus the mean of its 3x3 neighbourhood (edges replicated), cropped to even size."""
    h, w = x.shape[-2:]
    x = x[..., : h - h % 2, : w - w % 2]
    return x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


RESIDUALS = {"nearest2": npr_residual, "box2": box2_residual, "highpass": highpass_residual}


class BasicBlock(nn.Module):
    """A ResNet basic block (two 3x3 convolutions with a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class NPRNet(nn.Module):
    """NPR residual -> shallow ResNet (two stages, as in the paper) -> global pooling -> logit."""

    def __init__(
        self, width: int = 64, blocks: tuple[int, int] = (2, 2), residuals: tuple[str, ...] = ("nearest2",)
    ) -> None:
        super().__init__()
        unknown = [r for r in residuals if r not in RESIDUALS]
        if unknown or not residuals:
            raise ValueError(f"unknown residuals {unknown}; known: {', '.join(RESIDUALS)}")
        self.residuals = tuple(residuals)
        self.stem = nn.Sequential(
            nn.Conv2d(3 * len(self.residuals), width, 3, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers: list[nn.Module] = []
        cin = width
        for stage, count in enumerate(blocks):
            cout = width * (2**stage)
            for i in range(count):
                layers.append(BasicBlock(cin, cout, stride=2 if (stage > 0 and i == 0) else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The paper scales the residual by 2/3 so its range suits the first convolution.
        res = [RESIDUALS[name](x) for name in self.residuals]
        x = self.stem((res[0] if len(res) == 1 else torch.cat(res, dim=1)) * (2.0 / 3.0))
        x = self.layers(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)).squeeze(1)
