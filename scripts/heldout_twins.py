"""Write a manifest of the held-out training sources' real photos and their twins (the same twin makers
the artifact expert was trained with), to check whether it learned the decoders' traces on photos it
never saw: `sentry-image eval --data runs/heldout-twins/manifest.csv --split ''`.

    .venv/bin/python scripts/heldout_twins.py --data ../shared/data/manifest.csv --holdout-fraction 0.15 \
        --simulated-decoders 4 --aligned-weights ../shared/weights/taesd --out runs/heldout-twins
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch

from sentry_image.training.aligned_cache import aligned_samples
from sentry_image.training.datasets import open_dataset
from sentry_image.training.holdout import split_holdout
from sentry_image.training.loop import TrainConfig, twin_makers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--holdout-fraction", type=float, required=True)
    parser.add_argument("--simulated-decoders", type=int, default=4)
    parser.add_argument("--aligned-weights", default="")
    parser.add_argument("--cache", default="runs/cache-c", help="the training run's twin cache (decoders are reused)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    _, held = split_holdout(open_dataset(args.data, "train"), args.holdout_fraction)
    reals = [s for s in held if s.label == 0]
    cfg = TrainConfig(
        arch="npr",
        data=[args.data],
        out=args.out,
        aligned_weights=args.aligned_weights,
        simulated_decoders=args.simulated_decoders,
    )
    cache = Path(args.cache)
    gens = twin_makers(cfg, reals, cache, torch.device("cpu"))
    twins = aligned_samples(reals, gens, Path(args.out) / "twins")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label", "family", "category", "source"])
        for s in reals:
            w.writerow([str(Path(s.key).resolve()), "real", "", s.category, s.source])
        for s in twins:
            w.writerow([str(Path(s.key).resolve()), "ai", s.family, "", s.source])
    print(f"{len(reals)} real photos, {len(twins)} twins -> {out / 'manifest.csv'}")


if __name__ == "__main__":
    main()
