-- claim.lua: a worker takes up to n ready tasks of an open job, each under a lease.
--
-- Each claimed task gets a fencing token made here: max(last token + 1, server time in µs).
-- Tokens grow strictly within a job, and because they follow the server clock they stay
-- above every token handed out before a restart that lost the last second of writes
-- (AOF everysec): a rolled-back counter can never hand out a token twice.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id   ARGV[2] n (1..1000)   ARGV[3] lease ms (0 = the job's lease)
-- Replies: {"ok", now_ms, count, then per task: id, token, attempt, deadline_ms, spec}
--        | {"missing"} | {"closed", state}   (workers drop the job from refold:jobs then)
-- Errors:  "ERR refold: claim: ..." (nothing written)

local SCRIPT = 'claim'
--- @include "prelude"
if #ARGV ~= 3 then return fail_arg('expected 3 arguments, got ' .. #ARGV) end
local worker = ARGV[1]
local n, lease_arg = tonumber(ARGV[2]), tonumber(ARGV[3])
if worker == '' then return fail_arg('worker id must not be empty') end
if n == nil or n ~= math.floor(n) or n < 1 or n > 1000 then return fail_arg('n must be an integer from 1 to 1000') end
if lease_arg == nil or lease_arg ~= math.floor(lease_arg) or lease_arg < 0 then return fail_arg('lease ms must be an integer >= 0') end

local job = redis.call('HMGET', key.job, 'state', 'lease_ms', 'last_token')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end

--- @include "clock"

local lease = lease_arg > 0 and lease_arg or tonumber(job[2])

-- Retries whose backoff has passed go back to the ready queue first.
local due = redis.call('ZRANGEBYSCORE', key.delayed, '-inf', num(now_ms), 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', key.delayed, id)
  redis.call('HSET', key.states, id, 'ready')
  redis.call('RPUSH', key.ready, id)
end

local out = {'ok', num(now_ms), '0'}
local ids = redis.call('LPOP', key.ready, n)
if not ids then return out end
local token = tonumber(job[3])
local count = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', key.states, id) == 'ready' then
    token = math.max(token + 1, now_us)
    local attempt = redis.call('HINCRBY', key.attempts, id, 1)
    local deadline = now_ms + lease
    redis.call('HSET', key.states, id, 'leased')
    redis.call('HSET', key.tokens, id, num(token))
    redis.call('HSET', key.owners, id, worker)
    redis.call('HSET', key.started, id, num(now_ms))
    redis.call('ZADD', key.leases, num(deadline), id)
    count = count + 1
    out[#out + 1] = id
    out[#out + 1] = num(token)
    out[#out + 1] = tostring(attempt)
    out[#out + 1] = num(deadline)
    out[#out + 1] = redis.call('HGET', key.specs, id) or ''
  end
end
redis.call('HSET', key.job, 'last_token', num(token))
out[3] = tostring(count)
return out
