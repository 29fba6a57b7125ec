-- Generated from lua/src/seal.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- seal.lua: open a "building" job for claiming, in one step, once every chunk is registered.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] expected number of tasks (the coordinator's own count: proves no chunk was lost)
-- ARGV[2] expected number of events in all tasks (for progress and ETA; 0 if unknown)
-- Replies: {"ok", state} (state is "open", or "joined" for a job with no tasks)
--        | {"incomplete", registered} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: seal: ..." (nothing written)

local SCRIPT = 'seal'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local expected, events = tonumber(ARGV[1]), tonumber(ARGV[2])
if expected == nil or expected < 0 or expected ~= math.floor(expected) then return fail_arg('expected task count must be an integer >= 0') end
if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events total must be an integer >= 0') end

local job = redis.call('HMGET', key.job, 'state', 'registered')
if not job[1] then return {'missing'} end
if job[1] ~= 'building' then return {'closed', job[1]} end
if tonumber(job[2]) ~= expected then return {'incomplete', job[2]} end

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

redis.call('HSET', key.job, 'state', 'open', 'sealed_ms', num(now_ms), 'total', num(expected), 'events_total', num(events))
if expected == 0 then
  finalize('joined', num(now_ms), '')
  return {'ok', 'joined'}
end
return {'ok', 'open'}
