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
--- @include "prelude"
local n = tonumber(ARGV[1])
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end

local job = redis.call('HMGET', key.job, 'state', 'max_attempts')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end

--- @include "clock"
--- @include "progress"
--- @include "settle"
--- @include "bury"

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
