"""Aligned fakes: pass real photos through a latent autoencoder so that each real image gets an AI
twin with the same content (Rajan et al., ICLR 2025; B-Free, CVPR 2025). The detector then learns the
decoder's fingerprint instead of content or file format.

The autoencoders are the TAESD family (madebyollin/taesd, MIT), implemented here from the layout in
``shared/weights/taesd/ARCHITECTURE.md`` and loaded with ``strict=True``. Any 8x TAESD-style pair
(taesd, taesdxl, taesd3, taef1: plain ResBlocks; taef2: with the GroupNorm "pool" branch) drops in by
naming its files and latent channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn


class ResBlock(nn.Module):
    """TAESD residual block; ``pooled`` adds the FLUX.2 variant's GroupNorm branch."""

    def __init__(self, channels: int = 64, pooled: bool = False) -> None:
        super().__init__()
        c = channels
        self.pool = (
            nn.Sequential(
                nn.Conv2d(c, 4 * c, 1, bias=False),
                nn.GroupNorm(4, 4 * c),
                nn.ReLU(),
                nn.Conv2d(4 * c, c, 1, bias=False),
            )
            if pooled
            else None
        )
        self.conv = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1),
        )
        self.skip = nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


class SoftClamp(nn.Module):
    """``3 * tanh(z / 3)``: the decoder's first layer."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z / 3) * 3


def _down() -> nn.Module:
    return nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)


def build_encoder(latent_channels: int, pooled_mid: bool) -> nn.Sequential:
    """The 8x TAESD encoder (15 indexed layers)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        ResBlock(),
        _down(),
        ResBlock(),
        ResBlock(),
        ResBlock(),
        _down(),
        ResBlock(),
        ResBlock(),
        ResBlock(),
        _down(),
        ResBlock(pooled=pooled_mid),
        ResBlock(pooled=pooled_mid),
        ResBlock(pooled=pooled_mid),
        nn.Conv2d(64, latent_channels, 3, padding=1),
    )


def build_decoder(latent_channels: int, pooled_mid: bool) -> nn.Sequential:
    """The 8x TAESD decoder (20 indexed layers)."""

    def up() -> list[nn.Module]:
        return [nn.Upsample(scale_factor=2), nn.Conv2d(64, 64, 3, padding=1, bias=False)]

    return nn.Sequential(
        SoftClamp(),
        nn.Conv2d(latent_channels, 64, 3, padding=1),
        nn.ReLU(),
        ResBlock(pooled=pooled_mid),
        ResBlock(pooled=pooled_mid),
        ResBlock(pooled=pooled_mid),
        *up(),
        ResBlock(),
        ResBlock(),
        ResBlock(),
        *up(),
        ResBlock(),
        ResBlock(),
        ResBlock(),
        *up(),
        ResBlock(),
        nn.Conv2d(64, 3, 3, padding=1),
    )


@dataclass(frozen=True)
class AutoencoderSpec:
    """Where an autoencoder's weights are and how it is shaped."""

    name: str
    encoder: str
    decoder: str
    latent_channels: int
    pooled_mid: bool


KNOWN_AUTOENCODERS = {
    "taef2": AutoencoderSpec("taef2", "taef2_encoder.pth", "taef2_decoder.pth", 32, True),
    "taesd": AutoencoderSpec("taesd", "taesd_encoder.pth", "taesd_decoder.pth", 4, False),
    "taesdxl": AutoencoderSpec("taesdxl", "taesdxl_encoder.pth", "taesdxl_decoder.pth", 4, False),
    "taesd3": AutoencoderSpec("taesd3", "taesd3_encoder.pth", "taesd3_decoder.pth", 16, False),
    "taef1": AutoencoderSpec("taef1", "taef1_encoder.pth", "taef1_decoder.pth", 16, False),
}


def _load_strict(module: nn.Module, path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


class AlignedFakeGenerator:
    """Encode-decode round trips through one autoencoder: real photo in, its AI twin out."""

    def __init__(self, spec: AutoencoderSpec, weights_dir: str | Path, device: str = "cpu") -> None:
        weights_dir = Path(weights_dir)
        self.spec = spec
        self.device = torch.device(device)
        self.encoder = build_encoder(spec.latent_channels, spec.pooled_mid)
        self.decoder = build_decoder(spec.latent_channels, spec.pooled_mid)
        for module, name in ((self.encoder, spec.encoder), (self.decoder, spec.decoder)):
            path = weights_dir / name
            if not path.is_file():
                raise FileNotFoundError(f"autoencoder weights not found: {path}")
            _load_strict(module, path)
            module.eval().to(self.device)

    @property
    def name(self) -> str:
        """The autoencoder's name (``taef2``...)."""
        return self.spec.name

    @classmethod
    def available(cls, weights_dir: str | Path, device: str = "cpu") -> list[AlignedFakeGenerator]:
        """One generator per known autoencoder whose files are in ``weights_dir``."""
        d = Path(weights_dir)
        return [cls(s, d, device) for s in KNOWN_AUTOENCODERS.values() if (d / s.encoder).is_file()]

    @torch.no_grad()
    def roundtrip(self, img: Image.Image) -> Image.Image:
        """The image after encode -> decode (cropped to a multiple of 8 pixels)."""
        w, h = img.width - img.width % 8, img.height - img.height % 8
        arr = np.asarray(img.convert("RGB").crop((0, 0, w, h)), dtype=np.float32) / 255.0
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).to(self.device)
        y = self.decoder(self.encoder(x)).clamp(0, 1)
        out = (y[0].permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
        return Image.fromarray(out)
