#!/usr/bin/env bash
# Sourced by test.sh: starts a private MariaDB server on a free loopback port, in a temporary
# folder, as an unprivileged user when run as root; a user `refold` with a random password
# for TCP logins; stops it and removes the folder on exit.
# Exports REFOLD_TEST_MYSQL_URL (no password) and REFOLD_TEST_MYSQL_PASSWORD.

REFOLD_MY_DIR=""
REFOLD_MY_PID=""

refold_my_as() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}

refold_my_stop() {
  local pid
  for pid in "$REFOLD_MY_PID" "$(cat "$REFOLD_MY_DIR/pid" 2>/dev/null || true)"; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  [ -n "$REFOLD_MY_DIR" ] && rm -rf "$REFOLD_MY_DIR"
  REFOLD_MY_DIR=""
}

refold_my_start() {
  local server install client
  server=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2>/dev/null | head -1)
  install=$(command -v mariadb-install-db || command -v mysql_install_db)
  client=$(command -v mariadb || command -v mysql)
  if [ -z "$server" ] || [ -z "$install" ] || [ -z "$client" ]; then
    echo "refold: MariaDB server not found (apt-get install mariadb-server)" >&2
    return 3
  fi
  REFOLD_MY_DIR=$(mktemp -d /tmp/refold-mariadb.XXXXXX)
  chmod 755 "$REFOLD_MY_DIR"
  [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$REFOLD_MY_DIR"
  if ! refold_my_as "$install" --no-defaults --datadir="$REFOLD_MY_DIR/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$REFOLD_MY_DIR/install.log" 2>&1; then
    echo "refold: mariadb-install-db failed (see below)" >&2; cat "$REFOLD_MY_DIR/install.log" >&2; return 3
  fi
  local password attempt port
  password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
  for attempt in $(seq 1 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    refold_port_in_use "$port" && continue
    local args=(--no-defaults --datadir="$REFOLD_MY_DIR/data" --socket="$REFOLD_MY_DIR/sock"
      --pid-file="$REFOLD_MY_DIR/pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-buffer-pool-size=256M
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
      --max-connections=300 --log-error="$REFOLD_MY_DIR/server.log")
    # Started directly (setpriv execs the server), so $! is the server's own pid.
    if [ "$(id -u)" -eq 0 ]; then
      setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$server" "${args[@]}" >"$REFOLD_MY_DIR/stderr.log" 2>&1 &
    else
      "$server" "${args[@]}" >"$REFOLD_MY_DIR/stderr.log" 2>&1 &
    fi
    REFOLD_MY_PID=$!
    for _ in $(seq 1 600); do
      if "$client" --no-defaults -uroot --socket="$REFOLD_MY_DIR/sock" -e "SELECT 1" >/dev/null 2>&1; then
        "$client" --no-defaults -uroot --socket="$REFOLD_MY_DIR/sock" -e \
          "CREATE USER 'refold'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT ALL PRIVILEGES ON *.* TO 'refold'@'127.0.0.1' WITH GRANT OPTION;" || return 3
        export REFOLD_TEST_MYSQL_URL="mysql://refold@127.0.0.1:$port/mysql"
        export REFOLD_TEST_MYSQL_PASSWORD="$password"
        echo "refold: test MariaDB pid $REFOLD_MY_PID on $REFOLD_TEST_MYSQL_URL" >&2
        return 0
      fi
      kill -0 "$REFOLD_MY_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$REFOLD_MY_PID" 2>/dev/null || true
  done
  echo "refold: could not start MariaDB on a free port (see below)" >&2
  cat "$REFOLD_MY_DIR/server.log" >&2 || true
  return 3
}
