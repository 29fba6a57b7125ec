-- cancel.lua: stop a job that is building or open. Later claims get nothing ("closed"),
-- heartbeats answer "cancelled", and the coordinator's BLPOP on the signal list returns.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] reason (free text, shown by status)
-- Replies: {"cancelled"} | {"missing"} | {"closed", state}

if #KEYS ~= 14 then return redis.error_reply('ERR refold: cancel: expected the job\'s 14 keys, got ' .. #KEYS) end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'open' and state ~= 'building' then return {'closed', state} end

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

finalize('cancelled', num(now_ms), string.sub(ARGV[1] or '', 1, 1000))
return {'cancelled'}
