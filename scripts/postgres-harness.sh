#!/usr/bin/env bash
# Sourced by test.sh: starts a private PostgreSQL server on a free loopback port, in a
# temporary folder, as an unprivileged user when run as root (PostgreSQL refuses root), with
# a random password for TCP logins; stops it and removes the folder on exit.
# Exports REFOLD_TEST_POSTGRES_URL (no password) and REFOLD_TEST_POSTGRES_PASSWORD.

REFOLD_PG_DIR=""
REFOLD_PG_BIN=""

refold_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}

refold_pg_stop() {
  if [ -n "$REFOLD_PG_DIR" ] && [ -f "$REFOLD_PG_DIR/data/postmaster.pid" ]; then
    refold_pg_as "$REFOLD_PG_BIN/pg_ctl" -D "$REFOLD_PG_DIR/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    local pid
    pid=$(head -1 "$REFOLD_PG_DIR/data/postmaster.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  fi
  [ -n "$REFOLD_PG_DIR" ] && rm -rf "$REFOLD_PG_DIR"
  REFOLD_PG_DIR=""
}

refold_pg_start() {
  REFOLD_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$REFOLD_PG_BIN" ] || [ ! -x "$REFOLD_PG_BIN/initdb" ]; then
    echo "refold: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    return 3
  fi
  # A folder the server's user can reach: /tmp itself is world-traversable.
  REFOLD_PG_DIR=$(mktemp -d /tmp/refold-pg.XXXXXX)
  chmod 755 "$REFOLD_PG_DIR"
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
  printf '%s\n' "$password" > "$REFOLD_PG_DIR/pw"
  [ "$(id -u)" -eq 0 ] && chown -R nobody:nogroup "$REFOLD_PG_DIR"
  if ! refold_pg_as "$REFOLD_PG_BIN/initdb" -D "$REFOLD_PG_DIR/data" -U refold --pwfile="$REFOLD_PG_DIR/pw" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$REFOLD_PG_DIR/initdb.log" 2>&1; then
    echo "refold: initdb failed (see below)" >&2; cat "$REFOLD_PG_DIR/initdb.log" >&2; return 3
  fi
  rm -f "$REFOLD_PG_DIR/pw"
  local attempt port
  for attempt in $(seq 1 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    refold_port_in_use "$port" && continue
    if refold_pg_as "$REFOLD_PG_BIN/pg_ctl" -D "$REFOLD_PG_DIR/data" -l "$REFOLD_PG_DIR/server.log" -w -t 60 \
        -o "-p $port -k $REFOLD_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null 2>&1; then
      export REFOLD_TEST_POSTGRES_URL="postgres://refold@127.0.0.1:$port/postgres"
      export REFOLD_TEST_POSTGRES_PASSWORD="$password"
      echo "refold: test PostgreSQL on $REFOLD_TEST_POSTGRES_URL (folder $REFOLD_PG_DIR)" >&2
      return 0
    fi
  done
  echo "refold: could not start PostgreSQL on a free port (see $REFOLD_PG_DIR/server.log)" >&2
  cat "$REFOLD_PG_DIR/server.log" >&2 || true
  return 3
}
