"""The model card (``model.json``): what a model is, how to feed it, how to read its output.

A model folder holds ``model.safetensors`` and ``model.json``, and may hold ``model.onnx`` (an
export of the same weights, named in the card's ``onnx`` entry). An ONNX-only model (card
``"format": "onnx"``, e.g. an int8 quantisation made by ``sentry-image quantize``) holds
``model.onnx`` in place of the safetensors weights; the card's ``sha256`` is then the ONNX file's, and
it runs on ONNX Runtime only (on the CPU). A fused model (architecture
``fusion``, ``engine/fusion.py``) holds its combiner's weights and its parts, each a model folder of its
own, under ``parts/``; it has no ``input`` of its own. The card is validated against ``CARD_SCHEMA``
before anything else is trusted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema

from sentry_image.atomic_files import atomic_write_text
from sentry_image.errors import ModelError

CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "name",
        "version",
        "architecture",
        "labels",
        "thresholds",
        "calibration",
        "sha256",
        "license",
    ],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,63}$"},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "architecture": {
            "type": "object",
            "required": ["name", "options"],
            "properties": {"name": {"type": "string"}, "options": {"type": "object"}, "paper": {"type": "string"}},
        },
        "input": {
            "type": "object",
            "required": ["crop", "mean", "std"],
            "properties": {
                "crop": {"type": "integer", "minimum": 32, "maximum": 1024},
                "max_tiles": {"type": "integer", "minimum": 1, "maximum": 64},
                "min_side": {"type": "integer", "minimum": 8},
                "resize": {"enum": ["none"]},
                "aggregate": {"enum": ["mean_logit"]},
                "mean": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                "std": {
                    "type": "array",
                    "items": {"type": "number", "exclusiveMinimum": 0},
                    "minItems": 3,
                    "maxItems": 3,
                },
            },
        },
        "labels": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
        "thresholds": {
            "type": "object",
            "required": ["likely_ai", "likely_real"],
            "properties": {
                "likely_ai": {"type": "number", "minimum": 0, "maximum": 1},
                "likely_real": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "calibration": {
            "type": "object",
            "required": ["temperature", "shift"],
            "properties": {
                "temperature": {"type": "number", "exclusiveMinimum": 0},
                "shift": {"type": "number"},
                "fitted_on": {"type": "string"},
            },
        },
        "training": {"type": "object"},
        "metrics": {"type": "object"},
        "license": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "format": {
            "enum": ["safetensors", "onnx"],
            "description": "what holds the weights: model.safetensors (default) or model.onnx alone",
        },
        "derived_from": {
            "type": "object",
            "description": "the model this one was made from (quantisation), and how",
            "required": ["id", "sha256", "method"],
            "properties": {"id": {"type": "string"}, "sha256": {"type": "string"}, "method": {"type": "string"}},
        },
        "onnx": {
            "type": "object",
            "description": "an ONNX export of the weights beside them (model.onnx), for runs without PyTorch",
            "required": ["sha256", "weights_sha256", "opset"],
            "properties": {
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "weights_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "opset": {"type": "integer"},
            },
        },
    },
}

FUSION = "fusion"
PROBE = "clip-layers"  # a backbone's per-layer features read by a linear head (``probe/``)
PARTS_DIR = "parts"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model.json"
ONNX_FILE = "model.onnx"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def validate_card(card: Any) -> dict[str, Any]:
    """Return ``card`` if it matches the schema and its thresholds are ordered; else ``ModelError``."""
    try:
        jsonschema.validate(card, CARD_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ModelError(f"model card is invalid at {where}: {exc.message}") from exc
    if card["architecture"]["name"] != FUSION and "input" not in card:
        raise ModelError("model card is invalid at (top level): 'input' is a required property")
    if card["thresholds"]["likely_real"] > card["thresholds"]["likely_ai"]:
        raise ModelError("model card is invalid: thresholds.likely_real is above thresholds.likely_ai")
    return card


def read_card(folder: Path) -> dict[str, Any]:
    """Parse and validate ``folder/model.json``."""
    path = folder / CARD_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: no {CARD_FILE}")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc
    return validate_card(card)


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """Validate and write ``card`` as ``folder/model.json``."""
    validate_card(card)
    atomic_write_text(folder / CARD_FILE, json.dumps(card, indent=2, sort_keys=False) + "\n")


def onnx_only(card: dict[str, Any]) -> bool:
    """True for a model whose weights are its ``model.onnx`` alone (no PyTorch weights)."""
    return card.get("format") == "onnx"


def weights_file(card: dict[str, Any]) -> str:
    """The file that holds the model's weights, whose sha256 the card records."""
    return ONNX_FILE if onnx_only(card) else WEIGHTS_FILE


def shipped_onnx(folder: Path, card: dict[str, Any]) -> Path | None:
    """The folder's own ``model.onnx`` when the card names it and it is the export of these weights (or,
    for an ONNX-only model, is the weights).

    Raises ``ModelError`` when the card names an export that is missing or does not match."""
    if onnx_only(card):
        expected = card["sha256"]
    elif card.get("onnx"):
        if card["onnx"]["weights_sha256"] != card["sha256"]:
            raise ModelError(f"{folder / ONNX_FILE}: exported from other weights than the card's")
        expected = card["onnx"]["sha256"]
    else:
        return None
    path = folder / ONNX_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: the card names {ONNX_FILE}, which is missing")
    digest = sha256_file(path)
    if digest != expected:
        raise ModelError(f"{path}: sha256 {digest} does not match the card's {expected}")
    return path


def verify_folder(folder: Path, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check what needs no PyTorch: the card (schema) and the weights' sha256. Returns the card."""
    card = card or read_card(folder)
    weights = folder / weights_file(card)
    if not weights.is_file():
        raise ModelError(f"{folder}: no {weights.name}")
    digest = sha256_file(weights)
    if digest != card["sha256"]:
        raise ModelError(f"{weights}: sha256 {digest} does not match the card's {card['sha256']}")
    return card
