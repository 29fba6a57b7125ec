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

local function fail_arg(what) return redis.error_reply('ERR refold: reap: ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local n = tonumber(ARGV[1])
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end

local job = redis.call('HMGET', KEYS[1], 'state', 'max_attempts')
if not job[1] then return {'missing'} end
if job[1] ~= 'open' then return {'closed', job[1]} end

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

local expired = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', num(now_ms), 'LIMIT', 0, n)
local requeued, dead = 0, 0
local max_attempts = tonumber(job[2])
for _, id in ipairs(expired) do
  local attempt = tonumber(redis.call('HGET', KEYS[4], id))
  local owner = redis.call('HGET', KEYS[6], id) or '?'
  redis.call('HINCRBY', KEYS[1], 'stalls', 1)
  if attempt >= max_attempts then
    bury(id, 'lease expired on attempt ' .. attempt .. ' of ' .. max_attempts .. ' (worker ' .. owner .. ' did not renew its lease in time: it stopped, hung, or lost its link to Redis)', attempt, owner, now_ms)
    dead = dead + 1
  else
    redis.call('HSET', KEYS[3], id, 'ready')
    redis.call('ZREM', KEYS[8], id)
    redis.call('HDEL', KEYS[5], id)
    redis.call('LPUSH', KEYS[7], id)
    set_progress(id, 0)
    redis.call('HINCRBY', KEYS[1], 'retries', 1)
    requeued = requeued + 1
  end
end
local finished = nil
if dead > 0 then finished = settle(now_ms) end
return {finished or 'open', finished and '1' or '0', tostring(requeued), tostring(dead)}
