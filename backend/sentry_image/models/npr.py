"""NPR detector: neighbouring pixel relationships (Tan et al., "Rethinking the Up-Sampling Operations
in CNN-based Generative Network for Generalizable Deepfake Detection", CVPR 2024).

The up-sampling layers of generators leave a local correlation between neighbouring pixels. NPR
exposes it as the residual ``x - up(down(x))`` (nearest-neighbour, factor 2) and classifies that
residual with a shallow ResNet.
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

    def __init__(self, width: int = 64, blocks: tuple[int, int] = (2, 2)) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, 2, 1, bias=False),
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
        x = self.stem(npr_residual(x) * (2.0 / 3.0))
        x = self.layers(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)).squeeze(1)
