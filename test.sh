#!/usr/bin/env bash
# Install everything (first run) and run the whole test suite: the Python tests (desktop window under
# Xvfb included), then the extension's unit tests and its end-to-end tests in Chromium and Firefox.
# Arguments go to pytest, and then only the Python tests run (e.g. ./test.sh -k service).
set -euo pipefail
SENTRY_DEV=1
source "$(dirname "$0")/scripts/setup-venv.sh"
cd "$ROOT"
bash "$ROOT/scripts/system-packages.sh"
"$VENV/bin/python" -m pytest "$@"
[ "$#" -eq 0 ] || exit 0

cd "$ROOT/extension"
npm ci --no-audit --no-fund --loglevel=error
node --test tests/unit/
node --test --test-concurrency=1 tests/e2e/
# The Firefox package must pass Mozilla's linter with no errors.
FFDIR="$(mktemp -d)"
"$VENV/bin/python" "$ROOT/build_scripts/build_extension.py" --out "$FFDIR" >/dev/null
(cd "$FFDIR" && mkdir firefox && cd firefox && "$VENV/bin/python" -m zipfile -e ../sentry-image-firefox-*.zip .)
npx web-ext lint --source-dir "$FFDIR/firefox" --no-input --self-hosted
rm -rf "$FFDIR"
