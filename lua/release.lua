-- release.lua: a worker hands a task back without having failed it (it is shutting down, or
-- it cannot run the task on its host). The task goes to the front of the queue at once and
-- the claim does not count as an attempt, so a graceful shutdown never pushes a task
-- towards its dead letter. The job counts releases ("releases"); a reason, when given, is
-- kept as "release_reason" so operators and the coordinator can say why nothing advances.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] task id   ARGV[2] token   ARGV[3] reason (optional, at most 1000 bytes kept)
-- Replies: {"released"} | {"stale"} | {"missing"} | {"closed", state}

if #KEYS ~= 14 then return redis.error_reply('ERR refold: release: expected the job\'s 14 keys, got ' .. #KEYS) end
if #ARGV ~= 2 and #ARGV ~= 3 then return redis.error_reply('ERR refold: release: expected 2 or 3 arguments, got ' .. #ARGV) end
local id, token = ARGV[1], ARGV[2]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'open' then return {'closed', state} end
if redis.call('HGET', KEYS[3], id) ~= 'leased' or redis.call('HGET', KEYS[5], id) ~= token then return {'stale'} end

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

redis.call('HSET', KEYS[3], id, 'ready')
redis.call('ZREM', KEYS[8], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HINCRBY', KEYS[4], id, -1)
redis.call('LPUSH', KEYS[7], id)
set_progress(id, 0)
redis.call('HINCRBY', KEYS[1], 'releases', 1)
if ARGV[3] and ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'release_reason', string.sub(ARGV[3], 1, 1000)) end
return {'released'}
