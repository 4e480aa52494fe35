"""Spectral detector: a CNN on log-scaled DCT coefficients of the image.

After Frank et al., "Leveraging Frequency Analysis for Deep Fake Image Recognition" (ICML 2020):
generators' up-sampling leaves grid-like peaks in the frequency domain that a small CNN finds easily.
Here the 2-D DCT-II is taken over 32x32 blocks (so any image size works and a tile is analysed
locally), each coefficient is log-scaled, and the block spectra are classified by a small CNN.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BLOCK = 32


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix of size ``n x n``."""
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    m = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.float()


class BlockDCT(nn.Module):
    """Log-magnitude blockwise 2-D DCT; output has the block's frequencies as spatial layout."""

    def __init__(self, block: int = BLOCK) -> None:
        super().__init__()
        self.block = block
        self.register_buffer("basis", dct_matrix(block), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = self.block
        h2, w2 = h - h % n, w - w % n
        x = x[..., :h2, :w2].reshape(b, c, h2 // n, n, w2 // n, n).permute(0, 1, 2, 4, 3, 5)
        coeffs = self.basis @ x @ self.basis.T  # b, c, hb, wb, n, n
        logmag = torch.log(coeffs.abs() + 1e-4)
        # Average the block spectra: one n x n spectrum per channel, robust to content layout.
        return logmag.mean(dim=(2, 3))


class SpectralNet(nn.Module):
    """Blockwise DCT log spectrum -> small CNN -> logit."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.dct = BlockDCT()
        self.norm = nn.BatchNorm2d(3)
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width * 2, 3, 1, 1),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width * 2, width * 4, 3, 1, 1),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(width * 4 * (BLOCK // 4) ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.norm(self.dct(x))
        f = self.features(spec)
        return self.head(torch.flatten(f, 1)).squeeze(1)
