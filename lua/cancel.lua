-- Generated from lua/src/cancel.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- cancel.lua: stop a job that is building or open. Later claims get nothing ("closed"),
-- heartbeats answer "cancelled", and the coordinator's wait on the signal list returns.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] reason (free text, shown by status; at most 1000 bytes kept)
-- Replies: {"cancelled"} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: cancel: ..." (nothing written)

local SCRIPT = 'cancel'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end
if state ~= 'open' and state ~= 'building' then return {'closed', state} end

-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
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

finalize('cancelled', num(now_ms), string.sub(ARGV[1] or '', 1, 1000))
return {'cancelled'}
