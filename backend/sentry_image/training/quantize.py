"""``sentry-image quantize``: an int8 copy of a model for fast CPU inference, calibrated and measured as a
model of its own.

ONNX Runtime's static quantisation (QDQ format, per-channel int8 weights, uint8 activations) turns the
model's ONNX export into an ONNX-only model folder (card ``"format": "onnx"``). Activation ranges are
calibrated on tiles of training images (never validation ones). Quantisation moves the logits, so the
new model gets its own temperature and shift, fitted on the validation split the way the training
loop fits its models' calibration, its own "likely AI" badge point (at most 2% of real validation
photos), and its own numbers under both protocols (as found and format-matched), all in its card.
"""

from __future__ import annotations

import contextlib
import copy
import random
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image.atomic_files import atomic_path
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.engine.tiling import InputSpec, image_tiles
from sentry_image.errors import ModelError, SentryError
from sentry_image.registry.card import ONNX_FILE, onnx_only, read_card, sha256_file, write_card
from sentry_image.registry.onnx_export import onnx_for
from sentry_image.training.datasets import Sample, open_dataset
from sentry_image.training.measure import badge_sentence, calibrate_and_measure


def calibration_tiles(samples: list[Sample], spec: InputSpec, count: int, seed: int) -> list[np.ndarray]:
    """Tile batches of ``count`` images drawn at random from ``samples`` (unreadable ones skipped)."""
    rng = random.Random(seed)
    picked = rng.sample(samples, min(count, len(samples)))
    batches = []
    for s in picked:
        try:
            batches.append(image_tiles(decode_image(s.read()), spec)[0])
        except (SentryError, OSError):
            continue
    if not batches:
        raise ModelError("no readable calibration images in the training split")
    return batches


def quantize_onnx(source: Path, target: Path, batches: list[np.ndarray], method: str) -> None:
    """Write the int8 QDQ quantisation of the ONNX model ``source`` to ``target`` (atomically)."""
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Tiles(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{input_name: b} for b in batches])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp, atomic_path(target) as out:
        prepared = Path(tmp) / "prepared.onnx"
        # When symbolic shape inference gives up (NPR's residual) ONNX Runtime saves its half-done graph
        # as sym_shape_infer_temp.onnx plus a <uuid>.data file into the working directory: run it in tmp.
        with contextlib.chdir(tmp):
            try:  # shape inference and graph clean-up first
                quant_pre_process(str(source.resolve()), str(prepared))
            except Exception:  # noqa: BLE001 - symbolic shape inference gives up on some graphs
                quant_pre_process(str(source.resolve()), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            Tiles(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod[method],
        )


def int8_card(
    source_card: dict[str, Any], model_id: str, model_name: str, onnx_sha: str, method: str, calibration_images: int
) -> dict:
    """The new model's card before calibration: the source's input and architecture, ONNX-only weights."""
    card = copy.deepcopy(source_card)
    for stale in ("onnx", "metrics", "targets", "limitations"):
        card.pop(stale, None)
    card.update(
        id=model_id,
        name=model_name,
        version=date.today().isoformat().replace("-", "."),
        format="onnx",
        sha256=onnx_sha,
        derived_from={
            "id": source_card["id"],
            "sha256": source_card["sha256"],
            "method": f"ONNX Runtime static int8 quantisation (QDQ, per-channel weights, {method} ranges)",
        },
        description=f"{source_card['id']} quantised to int8 by `sentry-image quantize` (ONNX Runtime static QDQ, "
        f"per-channel weights, {method} activation ranges from {calibration_images} train images), with its own "
        "calibration and badge point fitted on the val split; for fast CPU inference (ONNX Runtime only). "
        + (f"Weights: {source_card['description']}" if source_card.get("description") else ""),
    )
    return card


def quantize_model(
    source: Path,
    data: str,
    out: Path,
    model_id: str,
    model_name: str = "",
    calibration_images: int = 64,
    method: str = "Percentile",
    seed: int = 0,
    val_limit: int = 0,
    show_progress: bool = True,
) -> Path:
    """Quantise the model folder ``source`` into ``out`` (an ONNX-only model folder), calibrated on
    ``data``'s train split (activation ranges) and val split (temperature, shift, badge point), with
    both protocols measured on val in its card. Returns ``out``."""
    source_card = read_card(source)
    if onnx_only(source_card) or "input" not in source_card:
        raise ModelError(f"{source_card['id']}: only a single model with PyTorch weights can be quantised")
    fp32 = onnx_for(source, source_card)
    if fp32 is None:
        raise ModelError(f"{source_card['id']}: no ONNX export and none can be made here (needs PyTorch and onnx)")
    train, val = open_dataset(data, "train"), open_dataset(data, "val")
    if not train or not val:
        raise ModelError(f"{data}: quantising needs a train split (activation ranges) and a val split (calibration)")
    if val_limit:
        val = random.Random(seed).sample(val, min(val_limit, len(val)))
    spec = InputSpec.from_card(source_card["input"])
    out.mkdir(parents=True, exist_ok=True)
    quantize_onnx(fp32, out / ONNX_FILE, calibration_tiles(train, spec, calibration_images, seed), method)

    card = int8_card(
        source_card,
        model_id,
        model_name or f"{source_card['name']} (int8)",
        sha256_file(out / ONNX_FILE),
        method,
        calibration_images,
    )
    card, _ = calibrate_and_measure(out, card, lambda: Detector.from_folder(out), val, show_progress)
    card["limitations"] = limitations(card, source_card)
    write_card(out, card)
    return out


def limitations(card: dict[str, Any], source_card: dict[str, Any]) -> str:
    """What the int8 copy cannot do, in words, from its measured numbers next to its source's."""
    m = card["metrics"]
    source = source_card.get("metrics", {})
    text = (
        f"Made from {source_card['id']}'s weights, so the same shortfalls. On val: ROC-AUC "
        f"{m['val'].get('roc_auc', float('nan')):.3f} as found and "
        f"{m['format_matched_val'].get('roc_auc', float('nan')):.3f} format-matched"
    )
    if "roc_auc" in source.get("val", {}):
        text += f" ({source_card['id']}: {source['val']['roc_auc']:.3f} as found)"
    text += badge_sentence(card)
    return text + (
        ". Quantisation moves single logits, so one image's score can differ from the float model's even where "
        "the ranking quality is the same. Calibration, badge point and metrics come from the same val split, so "
        "threshold-dependent numbers are optimistic. Runs on ONNX Runtime on the CPU only."
    )
