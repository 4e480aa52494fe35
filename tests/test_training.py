"""Training: a real step lowers the loss, metrics agree with scikit-learn, calibration recovers known
parameters, aligned fakes load the shared weights strictly, resume and DDP (2 CPU processes, gloo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

from conftest import SHARED_WEIGHTS, TINY_NPR
from sentry_image.evaluation.metrics import expected_calibration_error, summary, tpr_at_fpr
from sentry_image.models import build_model, known_architectures
from sentry_image.training.calibrate import fit_calibration


@pytest.mark.parametrize("arch", known_architectures())
def test_a_real_training_step_lowers_the_loss(arch: str) -> None:
    torch.manual_seed(0)
    options = {"npr": TINY_NPR, "spectral": {"width": 8}, "timm": {"backbone": "resnet18"}}[arch]
    model = build_model(arch, options)
    x = torch.randn(8, 3, 64, 64)
    y = torch.tensor([0.0, 1.0] * 4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    first = loss_fn(model(x), y).item()
    for _ in range(15):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert loss_fn(model(x), y).item() < first


def test_metrics_agree_with_sklearn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1)
    s = summary(labels, scores)
    assert s["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert s["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert s["balanced_acc"] == pytest.approx(balanced_accuracy_score(labels, scores >= 0.5))


@pytest.mark.parametrize("decimals", [None, 1, 2])  # continuous scores, and heavy ties
def test_numpy_roc_and_ap_equal_sklearn_with_ties(decimals: int | None) -> None:
    from sklearn import metrics as sk

    from sentry_image.evaluation import metrics

    rng = np.random.default_rng(decimals or 7)
    for n in (2, 9, 300):
        labels = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        scores = labels * 0.2 + rng.random(n) * 0.8
        scores = scores if decimals is None else np.round(scores, decimals)
        fpr, tpr, thr = metrics.roc_curve(labels, scores)
        want = sk.roc_curve(labels, scores, drop_intermediate=False)
        np.testing.assert_allclose(fpr, want[0])
        np.testing.assert_allclose(tpr, want[1])
        np.testing.assert_allclose(thr[1:], want[2][1:])
        assert metrics.roc_auc_score(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
        assert metrics.average_precision_score(labels, scores) == pytest.approx(
            sk.average_precision_score(labels, scores), abs=1e-12
        )
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc_score(np.ones(4), np.arange(4.0))


def test_tpr_at_fpr_and_ece_on_known_arrays() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.4, 0.7, 0.9, 0.95])
    assert tpr_at_fpr(labels, scores, 0.0) == pytest.approx(0.5)  # threshold above 0.8
    assert tpr_at_fpr(labels, scores, 0.25) == pytest.approx(1.0)  # one real above 0.4
    perfect = np.array([0.0, 0.0, 1.0, 1.0])
    assert expected_calibration_error(np.array([0, 0, 1, 1]), perfect) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.75, 0.75])) == pytest.approx(0.25)


def test_calibration_recovers_known_temperature_and_shift() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)
    logits = z * 3.0 + 1.5  # true temperature 3, shift 1.5
    t, s = fit_calibration(logits.tolist(), labels.tolist())
    assert t == pytest.approx(3.0, rel=0.15) and s == pytest.approx(1.5, abs=0.4)
    with pytest.raises(ValueError):
        fit_calibration([0.1, 0.2], [1, 1])


@pytest.mark.skipif(
    not (SHARED_WEIGHTS / "taef2_encoder.pth").is_file(), reason="../shared/weights/taesd is not present"
)
def test_aligned_fakes_from_shared_autoencoder() -> None:
    from PIL import Image

    from conftest import photo_like
    from sentry_image.training.aligned import AlignedFakeGenerator

    (gen,) = AlignedFakeGenerator.available(SHARED_WEIGHTS)  # loads with strict=True
    img = photo_like(np.random.default_rng(2), 96)
    out = gen.roundtrip(img)
    assert out.size == (96, 96)
    a, b = np.asarray(img, dtype=float), np.asarray(out, dtype=float)
    psnr = 10 * np.log10(255**2 / ((a - b) ** 2).mean())
    assert 20 < psnr < 60  # a faithful but not identical reconstruction
    assert isinstance(out, Image.Image)


def test_trained_model_card_records_the_run(trained_model_dir: Path) -> None:
    import json

    card = json.loads((trained_model_dir / "model.json").read_text())
    assert card["training"]["config"]["arch"] == "npr" and len(card["training"]["history"]) == 2
    assert card["calibration"]["temperature"] > 0
    assert card["metrics"]["val"]["n"] == 48
    assert card["metrics"]["val"]["roc_auc"] > 0.9  # it learned the synthetic up-sampling trace


def test_resume_continues_after_the_last_epoch(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    from sentry_image.training.loop import TrainConfig, train

    cfg = TrainConfig(
        arch="spectral",
        data=[str(tiny_dataset)],
        out=str(tmp_path),
        arch_options={"width": 8},
        crop=64,
        epochs=1,
        batch_size=8,
        workers=0,
        samples_per_epoch=16,
    )
    train(cfg)
    cfg.epochs = 2
    train(cfg)
    assert "resuming after epoch 1" in capsys.readouterr().err
    import json

    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert [h["epoch"] for h in card["training"]["history"]] == [1, 2]


def test_ddp_two_cpu_processes(tiny_dataset: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--standalone",  # a free rendezvous port: a fixed one collided with another run on the same machine
        "-m",
        "sentry_image.cli",
        "train",
        "--arch",
        "npr",
        "--arch-options",
        '{"width": 8, "blocks": [1, 1]}',
        "--data",
        str(tiny_dataset),
        "--out",
        str(tmp_path),
        "--crop",
        "64",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--samples-per-epoch",
        "32",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["training"]["world_size"] == 2
