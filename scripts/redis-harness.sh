#!/usr/bin/env bash
# Sourced by test.sh: starts a private redis-server on a free loopback port, with no
# persistence, and stops it on exit (even when the tests fail or are interrupted).
# Exports REFOLD_TEST_REDIS_URL.

REFOLD_HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/refold-harness.XXXXXX")
REFOLD_HARNESS_PID=""

refold_harness_stop() {
  if [ -n "$REFOLD_HARNESS_PID" ] && kill -0 "$REFOLD_HARNESS_PID" 2>/dev/null; then
    kill "$REFOLD_HARNESS_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$REFOLD_HARNESS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$REFOLD_HARNESS_PID" 2>/dev/null || true
  fi
  rm -rf "$REFOLD_HARNESS_DIR"
}

refold_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

refold_harness_start() {
  local attempt port
  for attempt in $(seq 1 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    refold_port_in_use "$port" && continue
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      --dir "$REFOLD_HARNESS_DIR" --logfile "$REFOLD_HARNESS_DIR/redis.log" &
    REFOLD_HARNESS_PID=$!
    for _ in $(seq 1 200); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        export REFOLD_TEST_REDIS_URL="redis://127.0.0.1:$port"
        echo "refold: test redis-server pid $REFOLD_HARNESS_PID on $REFOLD_TEST_REDIS_URL" >&2
        return 0
      fi
      kill -0 "$REFOLD_HARNESS_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$REFOLD_HARNESS_PID" 2>/dev/null || true
  done
  echo "refold: could not start redis-server on a free port (see $REFOLD_HARNESS_DIR/redis.log)" >&2
  return 3
}
