"""Experiment: int8 static quantisation (ONNX Runtime, QDQ, per-channel weights) of a model's ONNX export.
Measures the speed of one 16-tile batch and how far the scores move on the val split; ships nothing.

    .venv/bin/python scripts/quantize_experiment.py [--model ID] [--calibration 64] [--val 400]

Calibration tiles come from the train split of ../shared/data (never val); the comparison runs on val.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationMethod

from sentry_image.engine.decode import decode_image
from sentry_image.engine.tiling import InputSpec, image_tiles
from sentry_image.evaluation.metrics import summary
from sentry_image.registry.card import read_card, shipped_onnx
from sentry_image.registry.store import ModelStore
from sentry_image.training.datasets.manifest import read_manifest
from sentry_image.training.quantize import quantize_onnx

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "manifest.csv"


def tiles_of(samples: list, spec: InputSpec) -> tuple[list[np.ndarray], list[int]]:
    """Each readable sample's tile batch, and the labels of those samples (unreadable files skipped)."""
    out, labels = [], []
    for s in samples:
        try:
            out.append(image_tiles(decode_image(s.read()), spec)[0])
        except Exception:  # noqa: BLE001 - a broken file is simply left out of the experiment
            continue
        labels.append(s.label)
    return out, labels


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def mean_logits(sess: ort.InferenceSession, batches: list[np.ndarray]) -> np.ndarray:
    name = sess.get_inputs()[0].name
    return np.array([float(sess.run(None, {name: b})[0].reshape(-1).mean()) for b in batches])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="sentry-effnet-lite1", help="a model with PyTorch weights (not an int8 one)")
    ap.add_argument("--calibration", type=int, default=64, help="train images for calibration")
    ap.add_argument("--val", type=int, default=400, help="val images to compare scores on")
    ap.add_argument("--method", default="MinMax", choices=[m.name for m in CalibrationMethod])
    args = ap.parse_args()
    store = ModelStore()
    folder = store.folder_for(args.model)
    card = read_card(folder)
    spec = InputSpec.from_card(card["input"])
    fp32 = shipped_onnx(folder, card)
    assert fp32 is not None, "the model ships no model.onnx"
    rng = np.random.default_rng(0)
    train = list(read_manifest(DATA, "train"))
    val = list(read_manifest(DATA, "val"))
    calib = [train[i] for i in rng.choice(len(train), args.calibration, replace=False)]
    picked = [val[i] for i in rng.choice(len(val), min(args.val, len(val)), replace=False)]
    with tempfile.TemporaryDirectory() as tmp:
        int8 = Path(tmp) / "int8.onnx"
        name = session(fp32).get_inputs()[0].name
        calibration, _ = tiles_of(calib, spec)
        t = time.perf_counter()
        quantize_onnx(fp32, int8, calibration, args.method)  # what `sentry-image quantize` runs
        quantise_s = time.perf_counter() - t
        s32, s8 = session(fp32), session(int8)
        batch = np.random.default_rng(1).standard_normal((16, 3, spec.crop, spec.crop)).astype(np.float32)
        speed = {}
        for label, sess in (("fp32", s32), ("int8", s8)):
            sess.run(None, {name: batch})
            runs = []
            for _ in range(10):
                t = time.perf_counter()
                sess.run(None, {name: batch})
                runs.append((time.perf_counter() - t) * 1000)
            speed[label] = round(statistics.median(runs), 1)
        batches, kept = tiles_of(picked, spec)
        labels = np.array(kept)
        z32, z8 = mean_logits(s32, batches), mean_logits(s8, batches)
        report = {
            "model": card["id"],
            "calibration_method": args.method,
            "calibration_images": len(calib),
            "val_images": len(batches),
            "quantise_s": round(quantise_s, 1),
            "batch16_ms": speed,
            "speedup": round(speed["fp32"] / speed["int8"], 2),
            "size_mb": {"fp32": round(fp32.stat().st_size / 1e6, 1), "int8": round(int8.stat().st_size / 1e6, 1)},
            "logit_abs_diff": {
                "mean": round(float(np.abs(z32 - z8).mean()), 4),
                "max": round(float(np.abs(z32 - z8).max()), 4),
            },
            "val_roc_auc": {
                "fp32": round(summary(labels, z32)["roc_auc"], 4),
                "int8": round(summary(labels, z8)["roc_auc"], 4),
            },
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
