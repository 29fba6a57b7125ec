#!/usr/bin/env bash
# Drives the protocol with redis-cli only — what a PHP or Python service does with its own
# client: fork a job with two tasks, claim them, complete them, read the status.
#
# usage: docs/examples/fork-join-with-redis-cli.sh REDIS_URL JOB_ID
set -euo pipefail
url=$1
job=$2
lua="$(cd "$(dirname "$0")/../../lua" && pwd)"

# The job's 14 keys, in the order every script expects (docs/PROTOCOL.md).
keys=()
for suffix in job specs states attempts tokens owners ready leases delayed results dead progress started signal; do
  keys+=("refold:{$job}:$suffix")
done

call() {  # call SCRIPT ARG... — EVAL the script file with the job's keys
  local script=$1; shift
  redis-cli -u "$url" --raw EVAL "$(cat "$lua/$script.lua")" 14 "${keys[@]}" "$@"
}

call fork "$job" 1 3 30000 500 join 3600000 '{"kind":"noop"}' >/dev/null
call register 2 task-a '{"range":"a"}' task-b '{"range":"b"}' >/dev/null
call seal 2 0 >/dev/null
redis-cli -u "$url" ZADD refold:jobs "$(date +%s%3N)" "$job" >/dev/null

# claim replies: ok, now_ms, count, then per task: id, token, attempt, deadline_ms, spec
mapfile -t claimed < <(call claim php-worker-1 2 0)
count=${claimed[2]}
for ((i = 0; i < count; i++)); do
  id=${claimed[3 + 5 * i]}
  token=${claimed[4 + 5 * i]}
  call complete php-worker-1 1 "$id" "$token" 10 '{"ok":true}' >/dev/null
done

# status replies: ok, then field, value pairs
mapfile -t status < <(call status)
for ((i = 1; i < ${#status[@]}; i += 2)); do
  case ${status[i]} in
    state|total|done|dead|events_done) echo "${status[i]} ${status[i + 1]}" ;;
  esac
done
redis-cli -u "$url" ZREM refold:jobs "$job" >/dev/null
