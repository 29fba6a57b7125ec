#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, starts a private redis-server, PostgreSQL
# and MariaDB, runs `swift test`, and stops them whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh --test
swift build --build-tests "$@"
bin_dir=$(swift build --show-bin-path "$@")

. scripts/redis-harness.sh
. scripts/postgres-harness.sh
. scripts/mariadb-harness.sh
# Everything the tests and the processes they start put in TMPDIR goes in one folder that is
# removed at the end, whatever happens.
REFOLD_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/refold-tests.XXXXXX")
cleanup() {
  refold_harness_stop
  refold_pg_stop
  refold_my_stop
  rm -rf "$REFOLD_TEST_TMP"
}
trap cleanup EXIT INT TERM
refold_harness_start
refold_pg_start
refold_my_start
export TMPDIR="$REFOLD_TEST_TMP"

export REFOLD_BIN="$bin_dir/refold"
# Tests never inherit a user's Redis: only the harness's server is visible to them.
unset REFOLD_REDIS_URL REFOLD_REDIS_PASSWORD PGPASSWORD PGHOST PGPORT PGUSER PGDATABASE MYSQL_PWD MYSQL_HOST || true
swift test --skip-build "$@"
