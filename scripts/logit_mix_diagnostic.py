"""Diagnostic, not a model: how much mixing models' scores adds to the first model's on a split, under
both protocols (as found, and every image re-encoded as JPEG q90).

    .venv/bin/python scripts/logit_mix_diagnostic.py sentry-effnet-lite1-int8 runs/artifact-e/model
    .venv/bin/python scripts/logit_mix_diagnostic.py sentry-effnet-lite1 runs/lite1-seed1/model runs/lite1-seed2/model \
        --cache runs/mix-logits.json

Each model's logits are standardised on the split itself and mixed with fixed weights (all equal, and the
first model 3:1 against the mean of the rest), so the numbers are optimistic (nothing held out): a lead to
follow, never a reason to ship. ``--cache`` keeps each model's logits (by model folder, weights' sha256,
split and protocol) so a later mix does not score them again. reports/README.md has the numbers it printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from sentry_image.atomic_files import atomic_write_text
from sentry_image.engine.detector import Detector
from sentry_image.evaluation.scoring import score_samples
from sentry_image.evaluation.transforms import FORMAT_MATCHED
from sentry_image.registry.card import read_card
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets import open_dataset

PROTOCOLS = (("as found", None), ("format-matched", FORMAT_MATCHED))


def logits_by_key(folder: Path, samples: list, transform) -> dict[str, list]:  # noqa: ANN001
    """Each readable sample's label and logit, by key."""
    found = score_samples(Detector.from_folder(folder), samples, transform, show_progress=False)
    return {r.sample.key: [r.sample.label, r.logit] for r in found if r.error is None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="installed model ids or model folders (two or more; the first leads)")
    ap.add_argument("--data", default="../shared/data/manifest.csv")
    ap.add_argument("--split", default="val")
    ap.add_argument("--cache", type=Path, help="JSON file that keeps each model's logits between runs")
    args = ap.parse_args()
    if len(args.models) < 2:
        ap.error("name two or more models")
    store = ModelStore()
    folders = [store.folder_for(ref).resolve() for ref in args.models]
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.is_file() else {}
    samples = open_dataset(args.data, args.split)
    for protocol, transform in PROTOCOLS:
        scored = []
        for folder in folders:
            entry = f"{folder}|{read_card(folder)['sha256']}|{args.split}|{protocol}"
            if entry not in cache:
                cache[entry] = logits_by_key(folder, samples, transform)
                if args.cache:
                    atomic_write_text(args.cache, json.dumps(cache))
            scored.append(cache[entry])
        keys = sorted(set.intersection(*(set(m) for m in scored)))
        y = np.array([scored[0][k][0] for k in keys])
        z = np.array([[m[k][1] for k in keys] for m in scored])
        z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
        each = " ".join(f"{roc_auc_score(y, row):.3f}" for row in z)
        corr = np.corrcoef(z)[np.triu_indices(len(z), 1)].mean()
        print(
            f"{protocol} (n {len(keys)}): each {each}; all equal {roc_auc_score(y, z.mean(axis=0)):.3f}, "
            f"first 3:1 {roc_auc_score(y, 3 * z[0] + z[1:].mean(axis=0)):.3f}; mean correlation {corr:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
