"""Simulated generator decoders (after AutoGAN: Zhang, Karaman and Chang, "Detecting and Simulating
Artifacts in GAN Fake Images", WIFS 2019).

Generators end in up-sampling layers, and those layers leave periodic traces in the pixels. A small
autoencoder built with the same kinds of up-sampling layers (transposed convolution, nearest or
bilinear up-sampling followed by a convolution, pixel shuffle), trained briefly to reconstruct real
photos, leaves the same kind of trace. Real photos passed through it become fakes that differ from
their originals by the decoder's trace alone: an unlimited supply of training pairs for the artifact
expert, without any generator's weights.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

from sentry_image.atomic_files import atomic_path

UPSAMPLERS = ("transposed", "nearest", "bilinear", "pixelshuffle")


def _up(kind: str, width: int) -> nn.Module:
    """One 2x up-sampling layer of the given kind (the layer whose trace the fakes carry)."""
    if kind == "transposed":
        return nn.ConvTranspose2d(width, width, 4, stride=2, padding=1)
    if kind in ("nearest", "bilinear"):
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=kind), nn.Conv2d(width, width, 3, padding=1))
    if kind == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2))
    raise ValueError(f"unknown up-sampler {kind!r}; known: {', '.join(UPSAMPLERS)}")


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class SimulatedDecoder(nn.Module):
    """Encoder: pixel-unshuffle by ``2**levels`` and a 1x1 projection to a latent of 2/3 the size
    (a mild bottleneck, so the decoder must synthesise some detail, as a generator's does). Decoder:
    residual blocks at latent resolution, then ``levels`` 2x up-sampling layers of one kind. The
    encoder keeps the content nearly intact, so a twin differs from its photo by the decoder's trace."""

    def __init__(self, upsampler: str, levels: int = 1, width: int = 48) -> None:
        super().__init__()
        self.upsampler, self.levels = upsampler, levels
        factor = 2**levels
        latent = 2 * factor * factor
        self.encoder = nn.Sequential(nn.PixelUnshuffle(factor), nn.Conv2d(3 * factor * factor, latent, 1))
        dec: list[nn.Module] = [nn.Conv2d(latent, width, 3, padding=1), nn.ReLU(), _ResBlock(width), _ResBlock(width)]
        for _ in range(levels):
            dec += [_up(upsampler, width), nn.ReLU()]
        dec.append(nn.Conv2d(width, 3, 3, padding=1))
        self.decoder = nn.Sequential(*dec)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this."""
        return 2**self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def decoder_name(upsampler: str, levels: int, seed: int) -> str:
    """The name of one decoder of the bank (used as its AI family: ``sim-<name>``)."""
    return f"{upsampler}{levels}-s{seed}"


def _crops(images: list[np.ndarray], size: int, count: int, rng: random.Random) -> torch.Tensor:
    out = []
    for _ in range(count):
        arr = images[rng.randrange(len(images))]
        h, w = arr.shape[:2]
        y, x = rng.randint(0, h - size), rng.randint(0, w - size)
        out.append(arr[y : y + size, x : x + size])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0


def train_decoder(
    upsampler: str, levels: int, photos: list[Image.Image], seed: int, steps: int = 1000, crop: int = 64
) -> SimulatedDecoder:
    """Train one decoder briefly (L1 reconstruction of random crops of real photos)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    arrays = [np.asarray(p.convert("RGB"), dtype=np.uint8) for p in photos if min(p.size) >= crop]
    if not arrays:
        raise ValueError(f"no photo is at least {crop} pixels on each side")
    model = SimulatedDecoder(upsampler, levels)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    model.train()
    for _ in range(steps):
        x = _crops(arrays, crop, 16, rng)
        loss = F.l1_loss(model(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return model.eval()


class SimulatedDecoderTwin:
    """Real image in, its simulated-decoder twin out (the same interface as the aligned fakes')."""

    def __init__(self, model: SimulatedDecoder, name: str) -> None:
        self.model = model.eval()
        self.name = name

    @torch.no_grad()
    def roundtrip(self, img: Image.Image) -> Image.Image:
        """The image through the autoencoder (cropped to a multiple of its scale)."""
        m = self.model.multiple
        w, h = img.width - img.width % m, img.height - img.height % m
        arr = np.asarray(img.convert("RGB").crop((0, 0, w, h)), dtype=np.float32) / 255.0
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
        y = self.model(x).clamp(0, 1)
        return Image.fromarray((y[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8))


def decoder_bank(photos: Callable[[], list[Image.Image]], count: int, cache_dir: Path) -> list[SimulatedDecoderTwin]:
    """``count`` one-level (2x) decoders cycling through the up-samplers, trained once and cached.
    ``photos`` gives the training photos; it is called (once) only when a decoder is not cached yet.

    One level only: after 1,000 steps a 2x decoder reconstructs a photo at about 35 dB PSNR, a 4x one
    at about 29 dB, which is a blurred twin that would teach "blur => AI" instead of the trace."""
    photos = functools.cache(photos)
    bank = []
    for i in range(count):
        upsampler, levels, seed = UPSAMPLERS[i % len(UPSAMPLERS)], 1, i
        name = decoder_name(upsampler, levels, seed)
        path = cache_dir / f"{name}.safetensors"
        if path.is_file():
            model = SimulatedDecoder(upsampler, levels)
            model.load_state_dict(load_file(str(path)))
        else:
            model = train_decoder(upsampler, levels, photos(), seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
        bank.append(SimulatedDecoderTwin(model, name))
    return bank
