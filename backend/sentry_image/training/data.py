"""Torch datasets for training: augmented random crops from in-memory sample lists or streamed tar
shards, plus the sampling weights that balance classes, generator families and photo categories."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from sentry_image.engine.decode import decode_image
from sentry_image.engine.tiling import InputSpec, normalized_array
from sentry_image.errors import SentryError
from sentry_image.training.augment import augment
from sentry_image.training.datasets.sample import AI, Sample
from sentry_image.training.datasets.shards import iter_shard


def load_training_example(
    sample: Sample, spec: InputSpec, rng: random.Random, policy: str = "semantic"
) -> torch.Tensor:
    """Decode, augment (``training.augment.POLICIES``) and normalise one sample into a ``3 x crop x crop`` tensor."""
    data = sample.read()
    img = decode_image(data)
    return torch.from_numpy(normalized_array(augment(img, data, spec.crop, rng, policy), spec))


class AugmentedImages(Dataset):
    """Map-style dataset over a sample list; unreadable files are replaced by a readable neighbour."""

    def __init__(self, samples: list[Sample], spec: InputSpec, seed: int = 0, policy: str = "semantic") -> None:
        self.samples = samples
        self.spec = spec
        self.seed = seed
        self.policy = policy
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, float]:
        rng = random.Random(hash((self.seed, self.epoch, index)))
        for attempt in range(len(self.samples)):
            sample = self.samples[(index + attempt) % len(self.samples)]
            try:
                return load_training_example(sample, self.spec, rng, self.policy), float(sample.label)
            except SentryError:
                continue
        raise RuntimeError("no readable image in the training set")


class ShardStream(IterableDataset):
    """Streams tar shards without unpacking; shards are split across ranks and loader workers."""

    def __init__(
        self,
        shards: list[Path],
        spec: InputSpec,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        policy: str = "semantic",
    ) -> None:
        self.shards = sorted(shards)
        self.spec = spec
        self.policy = policy
        self.seed = seed
        self.rank = rank
        self.world = world
        self.epoch = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, float]]:
        info = get_worker_info()
        workers, wid = (info.num_workers, info.id) if info else (1, 0)
        rng = random.Random(hash((self.seed, self.epoch, self.rank, wid)))
        shards = self.shards[:]
        random.Random(hash((self.seed, self.epoch))).shuffle(shards)
        mine = shards[self.rank * workers + wid :: self.world * workers]
        buffer: list[Sample] = []
        for shard in mine:
            for sample in iter_shard(shard):
                buffer.append(sample)
                if len(buffer) >= 256:
                    yield from self._emit(buffer.pop(rng.randrange(len(buffer))), rng)
        rng.shuffle(buffer)
        for sample in buffer:
            yield from self._emit(sample, rng)

    def _emit(self, sample: Sample, rng: random.Random) -> Iterator[tuple[torch.Tensor, float]]:
        try:
            yield load_training_example(sample, self.spec, rng, self.policy), float(sample.label)
        except SentryError:
            return


def balanced_weights(samples: list[Sample]) -> list[float]:
    """Sampling weights: each class half of the draws; inside a class, groups (AI family or real
    category) weighted by 1/sqrt(size) so that large groups (StyleGAN faces) do not dominate.
    Aligned twins (families ``aligned-*``), when there are real generators' images too, take half
    of the AI draws together, however many twin makers there are."""
    groups = Counter((s.label, s.group) for s in samples)
    twin_groups = {g for g in groups if g[0] == AI and g[1].startswith("aligned-")}
    twin_mass = sum(math.sqrt(groups[g]) for g in twin_groups)
    other_ai_mass = sum(math.sqrt(c) for g, c in groups.items() if g[0] == AI and g not in twin_groups)
    twin_scale = other_ai_mass / twin_mass if twin_mass and other_ai_mass else 1.0
    mass: Counter[int] = Counter()
    for group, count in groups.items():
        mass[group[0]] += math.sqrt(count) * (twin_scale if group in twin_groups else 1.0)
    weights = []
    for s in samples:
        count = groups[(s.label, s.group)]
        scale = twin_scale if (s.label, s.group) in twin_groups else 1.0
        weights.append(0.5 / mass[s.label] * scale * math.sqrt(count) / count)
    return weights


def class_counts(samples: list[Sample]) -> dict[str, int]:
    """``{"real": n, "ai": n}`` of a sample list."""
    ai = sum(1 for s in samples if s.label == AI)
    return {"real": len(samples) - ai, "ai": ai}
