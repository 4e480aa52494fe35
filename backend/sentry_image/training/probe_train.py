"""``sentry-image train-probe``: a linear head on a frozen backbone's per-layer features (architecture
``clip-layers``), trained on CPU from cached features.

Features of every train and val image come through the shipped detector's own extractor and are cached
by crop (``probe.cache``), so a re-run reads them back in seconds. The head is a logistic regression on
standardised features; its inverse regularisation strength ``C`` is chosen on val by the weaker of the two
protocols (as found, and format-matched: every image re-encoded as JPEG q90). Augmentations add feature
rows of transformed training images (``training.probe_features.AUGMENTATIONS``). Calibration, badge point
and both protocols are then measured on val through ``ProbeDetector`` itself (``training.measure``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image import paths
from sentry_image.backbones.catalog import backbone_card
from sentry_image.backbones.features import layer_features
from sentry_image.errors import ModelError
from sentry_image.evaluation.metrics import summary
from sentry_image.probe.cache import FeatureCache
from sentry_image.probe.detector import PROBE, ProbeDetector
from sentry_image.probe.extract import ViewExtractor
from sentry_image.probe.head import FeatureSpec, LinearHead
from sentry_image.probe.views import VIEWS
from sentry_image.registry.card import WEIGHTS_FILE, sha256_file, write_card
from sentry_image.training.datasets import open_dataset
from sentry_image.training.measure import badge_sentence, calibrate_and_measure
from sentry_image.training.probe_features import FeatureRows, dataset_features

C_VALUES = (0.00003, 0.0001, 0.0003, 0.001)


@dataclass
class ProbeConfig:
    """What ``train_probe`` trains (defaults: the built-in model's recipe)."""

    data: str
    out: str
    backbone: str = "clip-vit-b16"
    views: tuple[str, ...] = VIEWS
    layers: tuple[int, ...] = tuple(range(12))
    tokens: tuple[str, ...] = ("cls",)
    native_crops: int = 1
    augmentations: tuple[str, ...] = ()
    c_values: tuple[float, ...] = C_VALUES
    model_id: str = "sentry-clip-layers"
    model_name: str = ""
    cache: str = ""  # default: <data folder>/cache/features
    seed: int = 0
    show_progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def fit_head(x: np.ndarray, y: np.ndarray, c: float, seed: int = 0) -> LinearHead:
    """Standardise ``x`` and fit a class-balanced logistic regression with inverse strength ``c``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
    clf.fit(scaler.transform(x), y)
    return LinearHead(
        scaler.mean_.astype(np.float32),
        scaler.scale_.astype(np.float32),
        clf.coef_[0].astype(np.float32),
        float(clf.intercept_[0]),
    )


def stack_rows(rows: list[FeatureRows], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """The head's inputs and labels of several row sets, one after the other."""
    x = np.concatenate([spec.select(r.views) for r in rows])
    return x, np.concatenate([r.labels for r in rows])


def val_auc(head: LinearHead, rows: FeatureRows, spec: FeatureSpec) -> float:
    """ROC-AUC of ``head`` on one val row set."""
    return float(summary(rows.labels, head.logits(spec.select(rows.views)))["roc_auc"])


def train_probe(cfg: ProbeConfig) -> Path:
    """Train, calibrate and measure a probe; writes and returns ``cfg.out/model``."""
    started = time.time()
    bb = backbone_card(cfg.backbone)
    spec = FeatureSpec.from_options({"views": cfg.views, "layers": cfg.layers, "tokens": cfg.tokens})
    train, val = open_dataset(cfg.data, "train"), open_dataset(cfg.data, "val")
    if not train or not val:
        raise ModelError(f"{cfg.data}: training a probe needs a train split and a val split")
    cache = FeatureCache(Path(cfg.cache) if cfg.cache else paths.cache_dir() / "features", bb.id)
    extractor = ViewExtractor(layer_features(bb), views=spec.views, native_crops=1, cache=cache)

    def rows(samples: list, augmentation: str) -> FeatureRows:
        return dataset_features(samples, extractor, augmentation, cfg.seed, show_progress=cfg.show_progress)

    train_rows = [rows(train, "none")] + [rows(train, a) for a in cfg.augmentations]
    val_found, val_fm = rows(val, "none"), rows(val, "jpeg90")
    features_s = time.time() - started
    x, y = stack_rows(train_rows, spec)
    table = []
    best: tuple[tuple[float, float], float, LinearHead] | None = None
    for c in cfg.c_values:
        head = fit_head(x, y, c, cfg.seed)
        found, fm = val_auc(head, val_found, spec), val_auc(head, val_fm, spec)
        table.append({"C": c, "val_roc_auc": round(found, 4), "format_matched_roc_auc": round(fm, 4)})
        rank = (round(min(found, fm), 4), round(found + fm, 4))  # the weaker protocol first, then both
        if best is None or rank > best[0]:
            best = (rank, c, head)
    assert best is not None
    _, c_best, head = best

    out = Path(cfg.out) / "model"
    out.mkdir(parents=True, exist_ok=True)
    head.save(out / WEIGHTS_FILE)
    card = probe_card(cfg, bb, spec, sha256_file(out / WEIGHTS_FILE))
    card["training"] = {
        "data": str(cfg.data),
        "train_images": len(train_rows[0].samples),
        "train_rows": int(len(y)),
        "augmentations": list(cfg.augmentations),
        "unreadable": train_rows[0].errors,
        "head": f"logistic regression on standardised features, class-balanced, C={c_best}",
        "c_chosen_on": "val split, by the weaker of ROC-AUC as found and format-matched (ties: their sum)",
        "c_search": table,
        "feature_seconds": round(features_s, 1),
        "seed": cfg.seed,
        **cfg.extra,
    }
    card, _ = calibrate_and_measure(
        out, card, lambda: ProbeDetector.from_folder(out, feature_cache=cache), val, cfg.show_progress
    )
    card["training"]["seconds"] = round(time.time() - started, 1)
    card["limitations"] = limitations(card)
    write_card(out, card)
    return out


def probe_card(cfg: ProbeConfig, bb: Any, spec: FeatureSpec, sha256: str) -> dict[str, Any]:
    """The card before calibration: architecture, input, backbone and licence."""
    return {
        "id": cfg.model_id,
        "name": cfg.model_name or f"CLIP layer probe ({bb.id}, {'+'.join(spec.views)})",
        "version": date.today().isoformat().replace("-", "."),
        "description": f"A linear head on the {'/'.join(spec.tokens)} token of blocks "
        f"{spec.layers[0]}-{spec.layers[-1]} of {bb.name}, read on the {' and '.join(spec.views)} view(s); "
        "the backbone is frozen and fetched once by `sentry-image models fetch-backbone`.",
        "architecture": {
            "name": PROBE,
            "options": {"backbone": bb.id, "native_crops": cfg.native_crops, **spec.options()},
            "paper": "Ojha et al., Towards Universal Fake Image Detectors that Generalize Across Generative Models "
            "(CVPR 2023); per-layer features after Koutlis & Papadopoulos, RINE (ECCV 2024)",
        },
        "input": {"crop": bb.image_size, "mean": list(bb.mean), "std": list(bb.std), "max_tiles": cfg.native_crops},
        "labels": ["real", "ai"],
        "thresholds": {"likely_ai": 0.7, "likely_real": 0.3},
        "calibration": {"temperature": 1.0, "shift": 0.0},
        "backbone": bb.summary(),
        "license": f"head: Apache-2.0; backbone {bb.id}: {bb.license}. {bb.license_note}",
        "sha256": sha256,
    }


def limitations(card: dict[str, Any]) -> str:
    """The model's shortfalls in words, from its measured numbers."""
    m = card["metrics"]
    text = (
        f"On val (unseen generators and photo sources): ROC-AUC {m['val'].get('roc_auc', float('nan')):.3f} as found, "
        f"{m['format_matched_val'].get('roc_auc', float('nan')):.3f} format-matched"
    )
    text += badge_sentence(card)
    return text + (
        ". The backbone sees a 224-pixel resize of the whole image and a native-resolution centre crop: a small "
        "generated region in a large real photo can go unseen. Calibration, badge point and metrics come from the "
        "same val split, so threshold-dependent numbers are optimistic. Needs the backbone "
        f"(`sentry-image models fetch-backbone {card['architecture']['options']['backbone']}`)."
    )
