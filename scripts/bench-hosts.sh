#!/usr/bin/env bash
# Rebuild time with workers on other "hosts" (network namespaces joined by veth pairs, root
# only): 2 workers in one namespace vs 1 worker in each of two, vs 2 local workers — the same
# events file, Redis reached over each host's link. The figures in docs/PERFORMANCE.md.
#
#   sudo scripts/bench-hosts.sh [events.db] [rounds]
#
# Without an events file, a 1M-event dataset is generated (cached in ~/.cache/refold).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "refold: network namespaces need root" >&2; exit 2; }
refold=${REFOLD_BIN:-.build/release/refold}
[ -x "$refold" ] || { echo "refold: build first (swift build -c release)" >&2; exit 2; }
rounds=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/refold-bench-hosts.XXXXXX")
events=${1:-}
if [ -z "$events" ]; then
  events="${XDG_CACHE_HOME:-$HOME/.cache}/refold/bench-1000000-20000-0.0.db"
  [ -f "$events" ] || "$refold" generate "$events" --size 1000000 --aggregates 20000 --seed 1 >/dev/null
fi
tag=$$
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  pkill -f "refold-bench-hosts-worker-$tag" 2>/dev/null || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for i in 1 2; do ip netns del "rfb$tag$i" 2>/dev/null || true; ip link del "rfb${tag}o$i" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
for i in 1 2; do
  ip netns add "rfb$tag$i"
  ip link add "rfb${tag}o$i" type veth peer name "rfb${tag}i$i"
  ip link set "rfb${tag}i$i" netns "rfb$tag$i"
  ip addr add "10.222.$i.1/30" dev "rfb${tag}o$i"
  ip link set "rfb${tag}o$i" up
  ip netns exec "rfb$tag$i" ip addr add "10.222.$i.2/30" dev "rfb${tag}i$i"
  ip netns exec "rfb$tag$i" ip link set "rfb${tag}i$i" up
  ip netns exec "rfb$tag$i" ip link set lo up
done
# Private, on loopback and the two test links only.
redis-server --port "$port" --bind "127.0.0.1 10.222.1.1 10.222.2.1" --protected-mode no --save '' \
  --appendonly no --daemonize yes --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# One rebuild with the given worker placement; prints its seconds (from the JSON report).
run() {
  local placement=$1 copy="$work/events.db"
  cp "$events" "$copy"
  local workers=0
  [ "$placement" = local ] && workers=2
  "$refold" rebuild order_summary --events "$copy" --redis "redis://127.0.0.1:$port" --workers "$workers" --tasks 8 --json >"$work/report.json" 2>"$work/rebuild.err" &
  local coordinator=$!
  case "$placement" in
  one-host) for _ in 1 2; do ip netns exec "rfb${tag}1" bash -c "exec -a refold-bench-hosts-worker-$tag $refold worker --redis redis://10.222.1.1:$port --poll 5ms" 2>/dev/null & done ;;
  two-hosts) for i in 1 2; do ip netns exec "rfb$tag$i" bash -c "exec -a refold-bench-hosts-worker-$tag $refold worker --redis redis://10.222.$i.1:$port --poll 5ms" 2>/dev/null & done ;;
  esac
  wait "$coordinator"
  pkill -f "refold-bench-hosts-worker-$tag" 2>/dev/null || true
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.3f" % r["seconds"])' "$work/report.json"
  rm -f "$copy"
}

echo "rebuild of $(basename "$events"), 8 tasks, medians of $rounds alternating rounds (seconds):"
declare -A times
for _ in $(seq "$rounds"); do
  for placement in local one-host two-hosts; do times[$placement]+="$(run "$placement") "; done
done
for placement in local one-host two-hosts; do
  echo "  $placement: $(python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print("%.3f  (all: %s)" % (statistics.median(v), " ".join("%.3f" % x for x in v)))' ${times[$placement]})"
done
