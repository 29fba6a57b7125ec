#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, starts a private redis-server, runs
# `swift test`, and stops the server whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
swift build --build-tests "$@"
bin_dir=$(swift build --show-bin-path "$@")

. scripts/redis-harness.sh
trap refold_harness_stop EXIT INT TERM
refold_harness_start

export REFOLD_BIN="$bin_dir/refold"
# Tests never inherit a user's Redis: only the harness's server is visible to them.
unset REFOLD_REDIS_URL REFOLD_REDIS_PASSWORD || true
swift test --skip-build "$@"
