-- Generated from lua/src/complete.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- complete.lua: record finished tasks; each is counted exactly once.
--
-- Per task: "done" (counted now), "duplicate" (already done with this very token: a repeated
-- completion, e.g. after a lost reply, is a no-op), "stale" (the caller's lease is gone: its
-- token no longer matches, so its result is rejected), or "closed" (the job has finished).
-- The completion that resolves the last task finalizes the job, once; later ones cannot,
-- because finalize() only runs while the job is "open". An expired lease that nobody has
-- reaped yet still completes: its token is still the task's.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id   ARGV[2] n (1..1000)
-- then n quadruples: task id, token, events folded, result (opaque text, e.g. JSON)
-- Replies: {job_state, fired ("1" if this call finished the job), n, outcome per task...}
--        | {"missing"}
-- Errors:  "ERR refold: complete: ..." (nothing written)

local SCRIPT = 'complete'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local worker, n = ARGV[1] or '', tonumber(ARGV[2])
if worker == '' then return fail_arg('worker id must not be empty') end
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end
if #ARGV ~= 2 + 4 * n then return fail_arg('expected ' .. (2 + 4 * n) .. ' arguments, got ' .. #ARGV) end
for i = 1, n do
  local events = tonumber(ARGV[4 * i + 1])
  if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events of task #' .. i .. ' must be an integer >= 0') end
end

local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end

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

local fired = '0'
local outcomes = {}
for i = 1, n do
  local id, token = ARGV[4 * i - 1], ARGV[4 * i]
  local events, result = tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  local task_state = redis.call('HGET', key.states, id)
  local outcome
  if task_state == 'done' then
    local record = cjson.decode(redis.call('HGET', key.results, id))
    outcome = (record.token == token) and 'duplicate' or 'stale'
  elseif state ~= 'open' then
    outcome = 'closed'
  elseif task_state == 'leased' and redis.call('HGET', key.tokens, id) == token then
    redis.call('HSET', key.states, id, 'done')
    redis.call('ZREM', key.leases, id)
    redis.call('HDEL', key.tokens, id)
    set_progress(id, events)
    redis.call('HSET', key.results, id, cjson.encode({
      worker = worker, token = token, attempt = redis.call('HGET', key.attempts, id),
      started_ms = redis.call('HGET', key.started, id) or '', finished_ms = num(now_ms),
      events = num(events), result = result}))
    redis.call('HINCRBY', key.job, 'done', 1)
    outcome = 'done'
    local finished = settle(now_ms)
    if finished then state = finished; fired = '1' end
  else
    outcome = 'stale'
  end
  outcomes[i] = outcome
end
local out = {state, fired, tostring(n)}
for i = 1, n do out[#out + 1] = outcomes[i] end
return out
