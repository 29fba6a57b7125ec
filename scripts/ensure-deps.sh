#!/usr/bin/env bash
# Installs what Refold needs to build (and with --test, to test), only when it is missing
# (Debian/Ubuntu, apt).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
[ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
[ -f /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev)
# The tests (not the demo) run private PostgreSQL and MariaDB servers.
if [ "${1:-}" = "--test" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
  # The operators' page is tested in a real headless browser.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "refold: installing ${missing[*]} with apt-get" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "refold: need root (or sudo) to install ${missing[*]}; install them and run again" >&2
      exit 3
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The HTTP tests check the server against docs/openapi.yaml with schemathesis (PyPI).
if [ "${1:-}" = "--test" ] && ! command -v schemathesis >/dev/null 2>&1; then
  echo "refold: installing schemathesis with pip" >&2
  python3 -m pip install -q schemathesis >&2 || { echo "refold: pip could not install schemathesis (the OpenAPI check needs it)" >&2; exit 3; }
fi
