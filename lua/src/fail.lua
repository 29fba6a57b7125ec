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
--- @include "prelude"
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

--- @include "clock"
--- @include "progress"
--- @include "settle"
--- @include "bury"

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
