"""The built-in default model on the shared validation split: it must score AI images above real ones.

Skipped (with the reason) when ../shared/data is absent; CI has it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import SHARED_DATA
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.paths import BUILTIN_MODELS_DIR
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets import open_dataset

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_file(), reason="../shared/data/manifest.csv is not present")


@pytest.fixture(scope="module")
def builtin_detector() -> Detector:
    models = [m for m in ModelStore(builtin_dir=BUILTIN_MODELS_DIR).list() if m.builtin]
    assert models, "no built-in model ships in the package"
    return Detector.from_folder(models[0].folder, device="cpu")


def test_builtin_model_is_small_and_described(builtin_detector: Detector) -> None:
    card = builtin_detector.card
    weights = next(BUILTIN_MODELS_DIR.glob("*/model.safetensors"))
    assert weights.stat().st_size <= 20 * 1024 * 1024
    assert card["metrics"]["val"]["roc_auc"] > 0.5 and card["training"]["config"]["arch"]


def test_builtin_model_scores_shared_val_in_the_expected_direction(builtin_detector: Detector) -> None:
    samples = open_dataset(SHARED_DATA, "val")
    rng = random.Random(0)
    picked = rng.sample([s for s in samples if s.label == 0], 40) + rng.sample([s for s in samples if s.label == 1], 40)
    scores = builtin_detector.score([decode_image(s.read()) for s in picked])
    labels = np.array([s.label for s in picked])
    values = np.array([s.score for s in scores])
    assert values[labels == 1].mean() > values[labels == 0].mean()
    assert roc_auc_score(labels, values) > 0.65
