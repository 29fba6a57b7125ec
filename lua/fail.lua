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

local function fail_arg(what) return redis.error_reply('ERR refold: fail: ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
if #ARGV ~= 5 then return fail_arg('expected 5 arguments, got ' .. #ARGV) end
local worker, id, token, kind = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local error_text = string.sub(ARGV[5], 1, 4000)
if worker == '' then return fail_arg('worker id must not be empty') end
if kind ~= 'retry' and kind ~= 'fatal' then return fail_arg('kind must be "retry" or "fatal"') end

local job = redis.call('HMGET', KEYS[1], 'state', 'max_attempts', 'backoff_ms')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end
if redis.call('HGET', KEYS[3], id) ~= 'leased' or redis.call('HGET', KEYS[5], id) ~= token then
  return {'stale'}
end

-- BEGIN shared clock (server time only: clients' clocks never decide a lease)
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- END shared clock

-- BEGIN shared progress (the same text in every script that tracks progress; a test keeps the copies equal)
-- Progress is kept per task (KEYS[12]) and as a running sum on the job (events_done), so a
-- status read is O(1). A task that goes back to the queue gives its progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', KEYS[12], task) or '0')
  redis.call('HSET', KEYS[12], task, num(events))
  if events ~= old then redis.call('HINCRBY', KEYS[1], 'events_done', num(events - old)) end
end
-- END shared progress

-- BEGIN shared finalize (the same text in seal, complete, fail, reap and cancel; a test keeps the copies equal)
-- Ends the job exactly once: records the final state, drops the queues nobody may claim
-- from any more, pushes one signal for the coordinator (BLPOP), publishes it, and lets
-- every key of the job expire together after its retention period.
local function finalize(final_state, now_ms, reason)
  redis.call('HSET', KEYS[1], 'state', final_state, 'finished_ms', now_ms, 'reason', reason)
  redis.call('DEL', KEYS[7], KEYS[8], KEYS[9])
  redis.call('RPUSH', KEYS[14], final_state)
  redis.call('PUBLISH', 'refold:{' .. redis.call('HGET', KEYS[1], 'id') .. '}:finished', final_state)
  local retention = redis.call('HGET', KEYS[1], 'retention_ms')
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
end
-- END shared finalize

-- BEGIN shared settle (the same text in complete, fail and reap; a test keeps the copies equal)
-- Called after a task became done or dead. Under the "fail" policy the first dead task
-- fails the job; otherwise the job joins when every task is resolved. Returns the final
-- state when this call finished the job, nil otherwise; finalize() runs at most once per
-- job because every caller first checks that the job is still "open".
local function settle(now_ms)
  local job = redis.call('HMGET', KEYS[1], 'total', 'done', 'dead', 'on_dead')
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
-- END shared settle

-- BEGIN shared bury (the same text in fail and reap; a test keeps the copies equal)
-- Dead-letters a task: it is resolved (it counts towards the join) but not done.
local function bury(task, error_text, attempt, worker, now_ms)
  redis.call('HSET', KEYS[3], task, 'dead')
  redis.call('HSET', KEYS[11], task, cjson.encode({
    error = error_text, attempt = tostring(attempt), worker = worker or '', at_ms = num(now_ms)}))
  redis.call('ZREM', KEYS[8], task)
  redis.call('HDEL', KEYS[5], task)
  set_progress(task, 0)
  redis.call('HINCRBY', KEYS[1], 'dead', 1)
end
-- END shared bury

local attempt = tonumber(redis.call('HGET', KEYS[4], id))
if kind == 'fatal' or attempt >= tonumber(job[2]) then
  bury(id, error_text, attempt, worker, now_ms)
  local finished = settle(now_ms)
  return {'dead', finished or 'open', finished and '1' or '0'}
end

local delay = math.min(tonumber(job[3]) * math.pow(2, attempt - 1), 3600000)
redis.call('HSET', KEYS[3], id, 'delayed')
redis.call('ZADD', KEYS[9], num(now_ms + delay), id)
redis.call('ZREM', KEYS[8], id)
redis.call('HDEL', KEYS[5], id)
set_progress(id, 0)
redis.call('HINCRBY', KEYS[1], 'retries', 1)
return {'retry', 'open', '0', num(delay)}
