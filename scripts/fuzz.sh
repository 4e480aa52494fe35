#!/usr/bin/env bash
# Long fuzzing run with random seeds: every Python harness (tests/test_fuzz.py) with N examples each
# (default 20000; failures are kept in .hypothesis/ and replayed first next time), then the extension's
# message and markup fuzzing with 10 N runs. CI runs the same harnesses with a fixed, smaller budget.
#   scripts/fuzz.sh [EXAMPLES]
set -euo pipefail
SENTRY_DEV=1
source "$(dirname "$0")/setup-venv.sh"
cd "$ROOT"
export SENTRY_FUZZ_EXAMPLES="${1:-20000}"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/test_fuzz.py
cd extension
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
FUZZ_RUNS=$((SENTRY_FUZZ_EXAMPLES * 10)) node --test tests/unit/fuzz-messages.test.js
