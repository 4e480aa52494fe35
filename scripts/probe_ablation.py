"""Ablations of the CLIP layer probe on cached backbone features: which views, layers, tokens and
augmentations help on val under both protocols, split by how the val files are stored (JPEG files against
lossless ones, the split that exposes a compression-history cue). Numbers go to reports/README.md.

    .venv/bin/python scripts/probe_ablation.py --data ../shared/data/manifest.csv --out reports/probe-ablation.json

Features come from the cache that `sentry-image train-probe` fills (the same extractor and keys), so after a
training run this costs decoding and the logistic regressions only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sentry_image import paths
from sentry_image.backbones.catalog import CLIP_VIT_B16
from sentry_image.backbones.features import layer_features
from sentry_image.engine.compression import compression_state
from sentry_image.evaluation.metrics import summary
from sentry_image.probe.cache import FeatureCache
from sentry_image.probe.extract import ViewExtractor
from sentry_image.probe.head import FeatureSpec
from sentry_image.training.datasets import open_dataset
from sentry_image.training.probe_features import dataset_features
from sentry_image.training.probe_train import fit_head, stack_rows

ALL = tuple(range(12))
CONFIGS = {
    "both views, CLS of all 12 blocks": (("resize", "native"), ALL, ("cls",), ()),
    "resize view only": (("resize",), ALL, ("cls",), ()),
    "native view only": (("native",), ALL, ("cls",), ()),
    "both views, last block only": (("resize", "native"), (11,), ("cls",), ()),
    "both views, CLS + patch-token mean": (("resize", "native"), ALL, ("cls", "patch_mean"), ()),
    "both views + JPEG q65-100 rows": (("resize", "native"), ALL, ("cls",), ("jpeg",)),
    "both views + JPEG + downscale rows": (("resize", "native"), ALL, ("cls",), ("jpeg", "downscale")),
    "both views + JPEG + blur rows": (("resize", "native"), ALL, ("cls",), ("jpeg", "blur")),
    "resize view only + JPEG + downscale + blur rows": (("resize",), ALL, ("cls",), ("jpeg", "downscale", "blur")),
    "both views + JPEG + downscale + blur rows (shipped)": (
        ("resize", "native"),
        ALL,
        ("cls",),
        ("jpeg", "downscale", "blur"),
    ),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cache", default="")
    p.add_argument("--c-values", nargs="+", type=float, default=[0.00003, 0.0001, 0.0003, 0.001])
    p.add_argument("--only", nargs="*", default=[], help="run only the configurations whose name contains these")
    args = p.parse_args()
    cache = FeatureCache(Path(args.cache) if args.cache else paths.cache_dir() / "features", CLIP_VIT_B16.id)
    ex = ViewExtractor(layer_features(CLIP_VIT_B16), cache=cache)
    train, val = open_dataset(args.data, "train"), open_dataset(args.data, "val")
    rows = {
        ("train", "none"): dataset_features(train, ex),
        ("val", "none"): dataset_features(val, ex),
        ("val", "jpeg90"): dataset_features(val, ex, "jpeg90"),
    }
    storage = np.array([compression_state(s.read()).state for s in rows[("val", "none")].samples])
    results = {}
    for name, (views, layers, tokens, augs) in CONFIGS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        for a in augs:
            rows.setdefault(("train", a), dataset_features(train, ex, a))
        spec = FeatureSpec(views, layers, tokens)
        x, y = stack_rows([rows[("train", "none")]] + [rows[("train", a)] for a in augs], spec)
        best = None
        started = time.time()
        for c in args.c_values:
            head = fit_head(x, y, c)
            z = {k: head.logits(spec.select(rows[("val", k)].views)) for k in ("none", "jpeg90")}
            labels = rows[("val", "none")].labels
            aucs = {k: summary(labels, v)["roc_auc"] for k, v in z.items()}
            if best is None or min(aucs.values()) > min(best["as_found"], best["format_matched"]):
                by_storage = {}
                for state in ("jpeg", "lossless"):
                    sel = storage == state
                    by_storage[state] = {
                        "n": int(sel.sum()),
                        "as_found": summary(labels[sel], z["none"][sel]).get("roc_auc"),
                        "format_matched": summary(labels[sel], z["jpeg90"][sel]).get("roc_auc"),
                    }
                best = {"C": c, "as_found": aucs["none"], "format_matched": aucs["jpeg90"], "by_storage": by_storage}
        best["fit_seconds"] = round(time.time() - started, 1)
        results[name] = best
        bs = best["by_storage"]
        print(
            f"{name:45s} C={best['C']:<6} as found {best['as_found']:.3f}  format-matched {best['format_matched']:.3f}"
            f"  | JPEG files {bs['jpeg']['as_found']:.3f}/{bs['jpeg']['format_matched']:.3f}"
            f"  lossless {bs['lossless']['as_found']:.3f}/{bs['lossless']['format_matched']:.3f}",
            flush=True,
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
