#!/usr/bin/env bash
# Install everything (first run) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
SENTRY_DEV=1
source "$(dirname "$0")/scripts/setup-venv.sh"
cd "$ROOT"
"$VENV/bin/python" -m pytest "$@"
