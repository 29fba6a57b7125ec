#!/usr/bin/env bash
# A throwaway Redis Cluster on loopback for trying Refold on a cluster (and for the cluster
# figures in docs/PERFORMANCE.md): 3 masters and 3 replicas in a temporary folder.
#
#   scripts/redis-cluster.sh start [base-port]   # prints the URL to pass as --redis
#   scripts/redis-cluster.sh stop  [base-port]
#
# Ports base..base+5 (default 7100) and their bus ports (+10000) must be free.
set -euo pipefail
command=${1:-}
base=${2:-7100}
dir="${TMPDIR:-/tmp}/refold-cluster-$base"
ports=$(seq "$base" $((base + 5)))

case "$command" in
start)
  for port in $ports; do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
      echo "refold: port $port is in use; pick another base port (scripts/redis-cluster.sh start 7200)" >&2
      exit 2
    fi
  done
  mkdir -p "$dir"
  for port in $ports; do
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --daemonize yes \
      --logfile "$dir/$port/redis.log" --pidfile "$dir/$port/redis.pid" --save '' \
      --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
  done
  for port in $ports; do
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create $(for port in $ports; do echo "127.0.0.1:$port"; done) \
    --cluster-replicas 1 --cluster-yes >"$dir/create.log"
  for _ in $(seq 100); do
    redis-cli -p "$base" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  echo "redis://$(for port in $(seq "$base" $((base + 2))); do printf '127.0.0.1:%s,' "$port"; done | sed 's/,$//')"
  ;;
stop)
  for port in $ports; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$dir"
  ;;
*)
  echo "usage: scripts/redis-cluster.sh start|stop [base-port]" >&2
  exit 2
  ;;
esac
