-- Generated from lua/src/fail.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- fail.lua: a worker reports that a task failed.
--
-- "retry": the task waits backoff_ms × 2^(attempt-1) (capped at one hour) in the delayed set,
-- then claim.lua puts it back in the queue; once it has had max_attempts claims it is
-- dead-lettered instead. "fatal": dead-lettered at once. A dead task fails the job under
-- the "fail" policy, or counts as resolved under "join".
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id  ARGV[2] task id  ARGV[3] token  ARGV[4] "retry" | "fatal"  ARGV[5] error text
-- Replies: {"retry", job_state, "0", delay_ms} | {"dead", job_state, fired}
--        | {"stale"} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: fail: ..." (nothing written)

local SCRIPT = 'fail'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
if #ARGV ~= 5 then return fail_arg('expected 5 arguments, got ' .. #ARGV) end
local worker, id, token, kind = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local error_text = string.sub(ARGV[5], 1, 4000)
if worker == '' then return fail_arg('worker id must not be empty') end
if kind ~= 'retry' and kind ~= 'fatal' then return fail_arg('kind must be "retry" or "fatal"') end

local job = redis.call('HMGET', key.job, 'state', 'max_attempts', 'backoff_ms')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end
if redis.call('HGET', key.states, id) ~= 'leased' or redis.call('HGET', key.tokens, id) ~= token then
  return {'stale'}
end

-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- include/progress.lua: progress is kept per task (key.progress) and as a running sum on the
-- job (events_done), so a status read is O(1). A task that goes back to the queue gives its
-- progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', key.progress, task) or '0')
  redis.call('HSET', key.progress, task, num(events))
  if events ~= old then redis.call('HINCRBY', key.job, 'events_done', num(events - old)) end
end
-- include/settle.lua: called after a task became done or dead. Under the "fail" policy the
-- first dead task fails the job; otherwise the job joins when every task is resolved.
-- Returns the final state when this call finished the job, nil otherwise; finalize() runs
-- at most once per job because every caller first checks that the job is still "open".
-- include/finalize.lua: ends the job exactly once: records the final state, drops the queues
-- nobody may claim from any more, pushes one signal for the coordinator (BLMOVE on
-- key.signal), publishes it, and lets every key of the job expire together after its
-- retention period. Callers check first that the job is still "building" or "open".
local function finalize(final_state, now_ms, reason)
  redis.call('HSET', key.job, 'state', final_state, 'finished_ms', now_ms, 'reason', reason)
  redis.call('DEL', key.ready, key.leases, key.delayed)
  redis.call('RPUSH', key.signal, final_state)
  redis.call('PUBLISH', 'refold:{' .. redis.call('HGET', key.job, 'id') .. '}:finished', final_state)
  local retention = redis.call('HGET', key.job, 'retention_ms')
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
end
local function settle(now_ms)
  local job = redis.call('HMGET', key.job, 'total', 'done', 'dead', 'on_dead')
  local total, done, dead = tonumber(job[1]), tonumber(job[2]), tonumber(job[3])
  if job[4] == 'fail' and dead > 0 then
    finalize('failed', num(now_ms), 'a task was dead-lettered and the job policy is "fail"')
    return 'failed'
  end
  if done + dead >= total then
    finalize('joined', num(now_ms), '')
    return 'joined'
  end
  return nil
end
-- include/bury.lua: dead-letters a task: it is resolved (it counts towards the join) but not done.
local function bury(task, error_text, attempt, worker, now_ms)
  redis.call('HSET', key.states, task, 'dead')
  redis.call('HSET', key.dead, task, cjson.encode({
    error = error_text, attempt = tostring(attempt), worker = worker or '', at_ms = num(now_ms)}))
  redis.call('ZREM', key.leases, task)
  redis.call('HDEL', key.tokens, task)
  set_progress(task, 0)
  redis.call('HINCRBY', key.job, 'dead', 1)
end

local attempt = tonumber(redis.call('HGET', key.attempts, id))
if kind == 'fatal' or attempt >= tonumber(job[2]) then
  bury(id, error_text, attempt, worker, now_ms)
  local finished = settle(now_ms)
  return {'dead', finished or 'open', finished and '1' or '0'}
end

local delay = math.min(tonumber(job[3]) * math.pow(2, attempt - 1), 3600000)
redis.call('HSET', key.states, id, 'delayed')
redis.call('ZADD', key.delayed, num(now_ms + delay), id)
redis.call('ZREM', key.leases, id)
redis.call('HDEL', key.tokens, id)
set_progress(id, 0)
redis.call('HINCRBY', key.job, 'retries', 1)
return {'retry', 'open', '0', num(delay)}
