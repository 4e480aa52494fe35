"""Where Sentry-Image keeps its files: per-user data (models, settings, pairing token) via
platformdirs, overridable with ``SENTRY_IMAGE_HOME`` (tests and portable installs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

BUILTIN_MODELS_DIR = Path(__file__).resolve().parent / "builtin_models"
# Backbones shipped inside the bundled app (build_scripts/build_bundle.py); absent in a source install.
BUNDLED_BACKBONES_DIR = Path(__file__).resolve().parent / "bundled_backbones"


def data_dir() -> Path:
    """The per-user data folder (created on first use)."""
    override = os.environ.get("SENTRY_IMAGE_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("sentry-image", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir() -> Path:
    """Folder holding user-installed models, one sub-folder each."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Files Sentry-Image can rebuild (ONNX exports of models); safe to delete."""
    path = data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def backbones_dir() -> Path:
    """Where fetched backbones live (``backbones/<id>/``): ``$SENTRY_IMAGE_BACKBONES`` if set (tests point every
    temporary data folder at one fetched copy), else ``backbones`` in the data folder."""
    override = os.environ.get("SENTRY_IMAGE_BACKBONES")
    path = Path(override) if override else data_dir() / "backbones"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_file() -> Path:
    """The JSON settings file (active model, thresholds)."""
    return data_dir() / "settings.json"


def token_file() -> Path:
    """The file holding the pairing token (readable by the user only)."""
    return data_dir() / "token"
