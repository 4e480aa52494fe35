"""Diagnostic, not a model: how much a second model's scores add to the first's on a split, under both
protocols (as found, and every image re-encoded as JPEG q90).

    .venv/bin/python scripts/logit_mix_diagnostic.py sentry-effnet-lite1-int8 runs/artifact-e/model

Each model's logits are standardised on the split itself and mixed with fixed weights, so the numbers
are optimistic (nothing held out): a lead to follow, never a reason to ship. reports/README.md (issue 14)
has the numbers it printed.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import roc_auc_score

from sentry_image.engine.detector import Detector
from sentry_image.evaluation.scoring import score_samples
from sentry_image.evaluation.transforms import FORMAT_MATCHED
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets import open_dataset

WEIGHTS = ((1.0, 1.0), (3.0, 1.0))


def logits_by_key(detector: Detector, samples: list, transform) -> dict[str, tuple[int, float]]:  # noqa: ANN001
    """Each readable sample's label and logit, by key."""
    found = [r for r in score_samples(detector, samples, transform, show_progress=False) if r.error is None]
    return {r.sample.key: (r.sample.label, r.logit) for r in found}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", help="installed model id or model folder")
    ap.add_argument("second", help="installed model id or model folder")
    ap.add_argument("--data", default="../shared/data/manifest.csv")
    ap.add_argument("--split", default="val")
    args = ap.parse_args()
    store = ModelStore()
    detectors = [Detector.from_folder(store.folder_for(ref)) for ref in (args.first, args.second)]
    samples = open_dataset(args.data, args.split)
    for protocol, transform in (("as found", None), ("format-matched", FORMAT_MATCHED)):
        a, b = (logits_by_key(d, samples, transform) for d in detectors)
        keys = sorted(set(a) & set(b))
        y = np.array([a[k][0] for k in keys])
        za, zb = (np.array([m[k][1] for k in keys]) for m in (a, b))
        za, zb = (za - za.mean()) / za.std(), (zb - zb.mean()) / zb.std()
        mixes = ", ".join(f"{wa:g}:{wb:g} {roc_auc_score(y, wa * za + wb * zb):.3f}" for wa, wb in WEIGHTS)
        print(
            f"{protocol} (n {len(keys)}): first {roc_auc_score(y, za):.3f}, second {roc_auc_score(y, zb):.3f}, "
            f"mixed {mixes}; correlation {np.corrcoef(za, zb)[0, 1]:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
