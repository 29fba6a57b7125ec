-- Generated from lua/src/reap.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- reap.lua: hand expired leases back to the queue, or dead-letter them past max attempts.
--
-- Any worker or coordinator may call it at any time; it does at most n leases per call, so
-- it never blocks the server for long. A reaped task's old token stops matching at once
-- (the token is removed), so its late heartbeat hears "lost" and its late completion "stale".
--
-- KEYS: the job's 14 keys.
-- ARGV[1] n (1..1000)
-- Replies: {job_state, fired, requeued, dead} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: reap: ..." (nothing written)

local SCRIPT = 'reap'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local n = tonumber(ARGV[1])
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end

local job = redis.call('HMGET', key.job, 'state', 'max_attempts')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end

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

local expired = redis.call('ZRANGEBYSCORE', key.leases, '-inf', num(now_ms), 'LIMIT', 0, n)
local requeued, dead = 0, 0
local max_attempts = tonumber(job[2])
for _, id in ipairs(expired) do
  local attempt = tonumber(redis.call('HGET', key.attempts, id))
  local owner = redis.call('HGET', key.owners, id) or '?'
  redis.call('HINCRBY', key.job, 'stalls', 1)
  if attempt >= max_attempts then
    bury(id, 'lease expired on attempt ' .. attempt .. ' of ' .. max_attempts .. ' (worker ' .. owner .. ' did not renew its lease in time: it stopped, hung, or lost its link to Redis)', attempt, owner, now_ms)
    dead = dead + 1
  else
    redis.call('HSET', key.states, id, 'ready')
    redis.call('ZREM', key.leases, id)
    redis.call('HDEL', key.tokens, id)
    redis.call('LPUSH', key.ready, id)
    set_progress(id, 0)
    redis.call('HINCRBY', key.job, 'retries', 1)
    requeued = requeued + 1
  end
end
local finished = nil
if dead > 0 then finished = settle(now_ms) end
return {finished or 'open', finished and '1' or '0', tostring(requeued), tostring(dead)}
