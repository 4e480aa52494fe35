#!/usr/bin/env bash
# Install everything (first run) and start the local service on the built-in default model.
# Extra arguments go to `sentry-image serve` (e.g. ./run.sh --port 9000).
set -euo pipefail
source "$(dirname "$0")/scripts/setup-venv.sh"
exec "$VENV/bin/sentry-image" serve "$@"
