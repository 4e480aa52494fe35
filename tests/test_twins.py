"""Training pairs for the artifact expert: simulated generator decoders (each up-sampler kind,
trained briefly, caching), twins made from shrunk real photos that share one compression history
with them, the sampling weights of twin families, and the two augmentation policies."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, photo_like
from sentry_image.engine.compression import compression_state
from sentry_image.training.aligned_cache import aligned_samples, downscaled
from sentry_image.training.augment import augment
from sentry_image.training.data import balanced_weights
from sentry_image.training.datasets.sample import AI, REAL, Sample
from sentry_image.training.simulated_decoders import (
    UPSAMPLERS,
    SimulatedDecoder,
    SimulatedDecoderTwin,
    decoder_bank,
    train_decoder,
)

PHOTOS = [photo_like(np.random.default_rng(i), 96) for i in range(4)]


def _psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.crop((0, 0, b.width, b.height)), dtype=float)
    y = np.asarray(b, dtype=float)
    return float(10 * np.log10(255**2 / max(1e-9, ((x - y) ** 2).mean())))


@pytest.mark.parametrize("upsampler", UPSAMPLERS)
def test_each_upsampler_keeps_the_size_and_is_built_from_its_layer(upsampler: str) -> None:
    model = SimulatedDecoder(upsampler, levels=1)
    kinds = {type(m).__name__ for m in model.decoder.modules()}
    expected = {"transposed": "ConvTranspose2d", "nearest": "Upsample", "bilinear": "Upsample"}
    assert expected.get(upsampler, "PixelShuffle") in kinds
    assert model(torch.rand(2, 3, 32, 48)).shape == (2, 3, 32, 48)


def test_brief_training_reconstructs_photos_but_not_exactly() -> None:
    untrained = SimulatedDecoderTwin(SimulatedDecoder("nearest", 1), "untrained")
    trained = SimulatedDecoderTwin(train_decoder("nearest", 1, PHOTOS, seed=0, steps=150, crop=48), "nearest")
    twin = trained.roundtrip(PHOTOS[0])
    assert twin.size == (96, 96)
    assert _psnr(PHOTOS[0], twin) > _psnr(PHOTOS[0], untrained.roundtrip(PHOTOS[0])) + 5
    assert 18 < _psnr(PHOTOS[0], twin) < 60  # close to the photo, yet carrying the decoder's output


def test_odd_sizes_are_cropped_to_the_decoder_multiple() -> None:
    twin = SimulatedDecoderTwin(SimulatedDecoder("pixelshuffle", 1), "p").roundtrip(PHOTOS[0].crop((0, 0, 95, 77)))
    assert twin.size == (94, 76)


def test_decoder_bank_trains_once_and_loads_from_its_cache(tmp_path: Path, monkeypatch) -> None:
    import sentry_image.training.simulated_decoders as sd

    calls = []
    real_train = sd.train_decoder

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real_train(*args, **{**kwargs, "steps": 5, "crop": 32})

    monkeypatch.setattr(sd, "train_decoder", counting)
    loads = []

    def photos() -> list:
        loads.append(1)
        return PHOTOS

    first = decoder_bank(photos, 5, tmp_path)
    assert [g.name for g in first] == [
        "transposed1-s0",
        "nearest1-s1",
        "bilinear1-s2",
        "pixelshuffle1-s3",
        "transposed1-s4",
    ]
    assert calls == ["transposed", "nearest", "bilinear", "pixelshuffle", "transposed"]
    again = decoder_bank(photos, 5, tmp_path)
    assert len(calls) == 5 and len(loads) == 1  # nothing retrained, and the photos not even read again
    out_a, out_b = first[1].roundtrip(PHOTOS[1]), again[1].roundtrip(PHOTOS[1])
    assert np.array_equal(np.asarray(out_a), np.asarray(out_b))


def test_twins_of_shrunk_photos_share_their_compression_history(tmp_path: Path) -> None:
    reals = []
    for i, img in enumerate(PHOTOS[:3]):
        path = tmp_path / f"r{i}.jpg"
        path.write_bytes(encode(img, "JPEG", quality=85))
        reals.append(Sample(str(path), REAL, category="photo", source="s", split="train"))
    maker = SimulatedDecoderTwin(SimulatedDecoder("bilinear", 1), "bilinear1-s0")
    out = aligned_samples(reals + [Sample("ai.png", AI)], [maker], tmp_path / "cache", downscale=2)
    shrunk = [s for s in out if s.label == REAL]
    twins = [s for s in out if s.label == AI]
    assert len(shrunk) == 3 and len(twins) == 3
    assert {s.category for s in shrunk} == {"downscaled"} and {s.family for s in twins} == {"aligned-bilinear1-s0"}
    for real, twin in zip(shrunk, twins, strict=True):
        # Both lossless, both half the size: they differ by the decoder alone, not by format or scale.
        assert compression_state(real.read()).state == compression_state(twin.read()).state == "lossless"
        with Image.open(real.key) as a, Image.open(twin.key) as b:
            assert a.size == b.size == (48, 48)
    # Cached: a second call makes nothing new and returns the same files.
    again = aligned_samples(reals, [maker], tmp_path / "cache", downscale=2)
    assert [s.key for s in again] == [s.key for s in out]


def test_downscale_filter_is_picked_per_sample() -> None:
    outs = {downscaled(PHOTOS[0], 2, f"key{i}").tobytes() for i in range(12)}
    assert 2 <= len(outs) <= 3  # box, bilinear and Lanczos give different pixels


def test_twin_families_take_half_of_the_ai_draws_together() -> None:
    samples = [Sample(f"r{i}", REAL, category="photo") for i in range(100)]
    samples += [Sample(f"g{i}", AI, family="sd") for i in range(100)]
    for fam in ("aligned-a", "aligned-b", "aligned-c", "aligned-d"):
        samples += [Sample(f"{fam}{i}", AI, family=fam) for i in range(100)]
    w = np.array(balanced_weights(samples))
    assert w[:100].sum() == pytest.approx(0.5)
    assert w[100:200].sum() == pytest.approx(0.25)  # the real generator's images
    assert w[200:].sum() == pytest.approx(0.25)  # all four twin families together


def test_artifact_policy_never_resizes_or_blurs() -> None:
    img = PHOTOS[0]
    data = encode(img, "PNG")
    kept = 0
    for seed in range(40):
        out = augment(img, data, 64, random.Random(seed), policy="artifact")
        arr = np.asarray(out)
        # Either an exact crop of the image (possibly flipped) or its JPEG re-compression at q>=85.
        exact = any(
            np.array_equal(arr, np.asarray(c)[y : y + 64, x : x + 64])
            for c in (img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
            for y in range(33)
            for x in range(33)
        )
        kept += exact
    assert 15 <= kept <= 35  # JPEG on only part of the samples (40% by the policy)
