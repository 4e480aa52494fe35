#!/usr/bin/env bash
# Install everything (first run) and run the whole test suite: the Python tests (desktop window under
# Xvfb included), then the extension's unit tests, its end-to-end tests in Chromium and Firefox, and
# Mozilla's linter on the Firefox package. Every stage runs even when an earlier one fails; a summary
# line per stage comes at the end, and the exit status is non-zero if any stage failed.
# Arguments go to pytest, and then only the Python tests run (e.g. ./test.sh -k service).
set -euo pipefail
SENTRY_DEV=1
bash "$(dirname "$0")/scripts/system-packages.sh"
source "$(dirname "$0")/scripts/setup-venv.sh"
cd "$ROOT"
# Tests give every run an empty data folder but share the backbone fetched above.
export SENTRY_IMAGE_BACKBONES="${SENTRY_IMAGE_BACKBONES:-$("$VENV/bin/python" -c 'from sentry_image.paths import backbones_dir; print(backbones_dir())')}"

LOGS="$(mktemp -d)"
SUMMARY=()
FAILED=0
# stage NAME COUNT_PATTERN COMMAND...: run it with its output shown and kept, then note passed/failed with
# the runner's own closing counts (the last three lines matching COUNT_PATTERN).
stage() {
  local name="$1" pattern="$2" rc=0
  shift 2
  "$@" 2>&1 | tee "$LOGS/$name.log" || rc=$?
  local counts
  counts="$(grep -E "$pattern" "$LOGS/$name.log" | tail -n 3 | tr -s ' =#\t' ' ' | sed 's/^ *//; s/ *$//' | paste -sd ';' - || true)"
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("passed  $name${counts:+ ($counts)}")
  elif [ "$name" = pytest ] && [ "$rc" -eq 5 ]; then
    SUMMARY+=("no tests  $name (pytest exit 5)")
    FAILED=5
  else
    SUMMARY+=("FAILED  $name (exit $rc)${counts:+ ($counts)}")
    FAILED=1
  fi
}

stage pytest '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$VENV/bin/python" -m pytest "$@"
if [ "$#" -eq 0 ]; then
  cd "$ROOT/extension"
  stage npm-ci '^$^' npm ci --no-audit --no-fund --loglevel=error
  node_counts='^# (tests|pass|fail) '
  stage extension-unit "$node_counts" node --test tests/unit/
  stage extension-e2e "$node_counts" node --test --test-concurrency=1 tests/e2e/
  lint_firefox() {
    # The Firefox package must pass Mozilla's linter with no errors.
    local dir
    dir="$(mktemp -d)"
    "$VENV/bin/python" "$ROOT/build_scripts/build_extension.py" --out "$dir" >/dev/null &&
      (cd "$dir" && mkdir firefox && cd firefox && "$VENV/bin/python" -m zipfile -e ../sentry-image-firefox-*.zip .) &&
      npx web-ext lint --source-dir "$dir/firefox" --no-input --self-hosted
    local rc=$?
    rm -rf "$dir"
    return $rc
  }
  stage web-ext-lint '^(errors|notices|warnings) +[0-9]+' lint_firefox
  cd "$ROOT"
fi
rm -rf "$LOGS"

echo
echo "== test stages =="
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" -eq 5 ] && [ "${#SUMMARY[@]}" -eq 1 ]; then
  exit 5  # pytest collected nothing and nothing else ran: .ci/run reports it
fi
[ "$FAILED" -eq 0 ]
