-- seal.lua: open a "building" job for claiming, in one step, once every chunk is registered.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] expected number of tasks (the coordinator's own count: proves no chunk was lost)
-- ARGV[2] expected number of events in all tasks (for progress and ETA; 0 if unknown)
-- Replies: {"ok", state} (state is "open", or "joined" for a job with no tasks)
--        | {"incomplete", registered} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: seal: ..." (nothing written)

local function fail_arg(what) return redis.error_reply('ERR refold: seal: ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local expected, events = tonumber(ARGV[1]), tonumber(ARGV[2])
if expected == nil or expected < 0 or expected ~= math.floor(expected) then return fail_arg('expected task count must be an integer >= 0') end
if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events total must be an integer >= 0') end

local job = redis.call('HMGET', KEYS[1], 'state', 'registered')
if not job[1] then return {'missing'} end
if job[1] ~= 'building' then return {'closed', job[1]} end
if tonumber(job[2]) ~= expected then return {'incomplete', job[2]} end

-- BEGIN shared clock (server time only: clients' clocks never decide a lease)
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- END shared clock

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

redis.call('HSET', KEYS[1], 'state', 'open', 'sealed_ms', num(now_ms), 'total', num(expected), 'events_total', num(events))
if expected == 0 then
  finalize('joined', num(now_ms), '')
  return {'ok', 'joined'}
end
return {'ok', 'open'}
