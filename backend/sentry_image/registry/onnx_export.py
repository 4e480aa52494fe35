"""ONNX exports of model folders, for ONNX Runtime: faster than PyTorch on CPU, and the only runtime
in the bundled app. Exporting needs PyTorch and ``onnx``; running the export needs neither.

An export is either shipped in the model folder (``model.onnx``, named with its sha256 in the card's
``onnx`` entry: ``sentry-image models export-onnx``) or made on first use into the cache folder, keyed
by the weights' sha256. Every export is checked against PyTorch on a random batch before it is used.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image import paths
from sentry_image.atomic_files import atomic_path
from sentry_image.errors import ModelError
from sentry_image.registry.card import ONNX_FILE, onnx_only, sha256_file, shipped_onnx, write_card

log = logging.getLogger(__name__)

OPSET = 17
MAX_ABS_DIFF = 1e-3  # largest logit difference from PyTorch an export may show


def _export(folder: Path, target: Path) -> None:
    """Export the folder's PyTorch model to ``target`` (atomically) and check it against PyTorch."""
    import torch

    from sentry_image.engine.backends import OnnxBackend
    from sentry_image.registry.loading import load_model_folder

    model, card = load_model_folder(folder)
    crop = int(card["input"]["crop"])
    sample = torch.randn(2, 3, crop, crop, generator=torch.Generator().manual_seed(0))
    with atomic_path(target) as tmp:
        with warnings.catch_warnings():
            # The TorchScript exporter handles these models' dynamic tile sizes; torch 2.14 calls it legacy.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (sample,),
                str(tmp),
                dynamo=False,
                input_names=["tiles"],
                output_names=["logits"],
                dynamic_axes={"tiles": {0: "tiles", 2: "height", 3: "width"}, "logits": {0: "tiles"}},
                opset_version=OPSET,
            )
        check = torch.randn(3, 3, crop, crop - 8, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            want = model(check).float().reshape(-1).numpy()
        got = OnnxBackend(tmp).run(check.numpy())
        diff = float(np.abs(want - got).max())
        if not diff <= MAX_ABS_DIFF:
            raise ModelError(
                f"the ONNX export of {card['id']} differs from PyTorch by {diff:.2g} (limit {MAX_ABS_DIFF})"
            )


def onnx_for(folder: Path, card: dict[str, Any]) -> Path | None:
    """An ONNX export of this model: the shipped one, else a cached one (exported now when missing and
    PyTorch is here). None when there is none and none can be made."""
    shipped = shipped_onnx(folder, card)
    if shipped is not None:
        return shipped
    cached = paths.cache_dir() / "onnx" / f"{card['sha256']}-opset{OPSET}.onnx"
    if cached.is_file():
        return cached
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import torch  # noqa: F401
    except ImportError:
        return None
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        _export(folder, cached)
    except Exception as exc:  # an architecture the exporter cannot handle: PyTorch runs it instead
        log.warning("no ONNX export for %s (%s); PyTorch will run it", card["id"], exc)
        return None
    return cached


def export_into_folder(folder: Path) -> dict[str, Any]:
    """Write ``model.onnx`` into a model folder and name it in the card; returns the new card. A fused
    model's parts are exported each (its combiner needs no export: it is a weighted sum); a backbone probe
    needs none (its backbone is ONNX and its head a weighted sum)."""
    from sentry_image.registry.card import FUSION, PROBE, read_card

    card = read_card(folder)
    if card["architecture"]["name"] == FUSION:
        from sentry_image.engine.fusion_folder import part_folders

        for part in part_folders(folder, card).values():
            export_into_folder(part)
        return card
    if onnx_only(card) or card["architecture"]["name"] == PROBE:
        return card  # its model.onnx is the model, or it runs on ONNX Runtime as it is
    _export(folder, folder / ONNX_FILE)
    card["onnx"] = {"sha256": sha256_file(folder / ONNX_FILE), "weights_sha256": card["sha256"], "opset": OPSET}
    write_card(folder, card)
    return card
