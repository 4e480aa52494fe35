"""The built-in models (the CLIP layer probe, the default everywhere; the EfficientNet and its int8 copy,
still selectable) on the shared validation split: each must score AI images above real ones.

Skipped (with the reason) when ../shared/data is absent; CI has it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import SHARED_DATA
from sentry_image.engine.decode import decode_image
from sentry_image.engine.load import AnyDetector, load_detector
from sentry_image.paths import BUILTIN_MODELS_DIR
from sentry_image.registry.card import weights_file
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets import open_dataset

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_file(), reason="../shared/data/manifest.csv is not present")


BUILTIN = [m for m in ModelStore(builtin_dir=BUILTIN_MODELS_DIR).list() if m.builtin and m.part_of is None]


def test_the_builtin_models_ship_and_the_probe_is_the_default() -> None:
    kinds = sorted((m.card["architecture"]["name"], m.card.get("format", "safetensors")) for m in BUILTIN)
    assert kinds == [("clip-layers", "safetensors"), ("timm", "onnx"), ("timm", "safetensors")]
    probe = next(m.id for m in BUILTIN if m.card["architecture"]["name"] == "clip-layers")
    assert ModelStore.default_id(BUILTIN) == probe


@pytest.fixture(scope="module", params=[m.id for m in BUILTIN])
def builtin_detector(request: pytest.FixtureRequest, clip_backbone) -> AnyDetector:
    return load_detector(next(m.folder for m in BUILTIN if m.id == request.param), device="cpu")


def test_builtin_model_is_small_and_described(builtin_detector: AnyDetector) -> None:
    card = builtin_detector.card
    folder = next(m.folder for m in BUILTIN if m.id == card["id"])
    assert (folder / weights_file(card)).stat().st_size <= 20 * 1024 * 1024
    assert card["metrics"]["val"]["roc_auc"] > 0.5 and card["training"]
    assert card["metrics"]["format_matched_val"]["roc_auc"] > 0.5 and card["limitations"]


def test_builtin_model_scores_shared_val_in_the_expected_direction(builtin_detector: AnyDetector) -> None:
    samples = open_dataset(SHARED_DATA, "val")
    rng = random.Random(0)
    picked = rng.sample([s for s in samples if s.label == 0], 40) + rng.sample([s for s in samples if s.label == 1], 40)
    scores = builtin_detector.score([decode_image(s.read()) for s in picked])
    labels = np.array([s.label for s in picked])
    values = np.array([s.score for s in scores])
    assert values[labels == 1].mean() > values[labels == 0].mean()
    # The probe's val ROC-AUC is 0.9+ (its card); 80 images give it a wide margin above 0.85.
    assert roc_auc_score(labels, values) > (
        0.85 if builtin_detector.card["architecture"]["name"] == "clip-layers" else 0.65
    )
