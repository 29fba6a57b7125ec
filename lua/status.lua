#!lua flags=no-writes
-- Generated from lua/src/status.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- status.lua: read a job's state without changing anything (runs on replicas too; call it
-- with EVALSHA_RO so a read-only user may).
--
-- KEYS: the job's 14 keys.
-- ARGV: none
-- Replies: {"missing"} | {"ok", field, value, field, value, ...} with every field of the job
-- hash (docs/PROTOCOL.md) plus "ready", "leased", "delayed" (queue sizes) and "now_ms"
-- (server time, so callers can tell the age of a job stuck in "building").
-- Errors:  "ERR refold: status: ..."

local SCRIPT = 'status'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local fields = redis.call('HGETALL', key.job)
if #fields == 0 then return {'missing'} end
-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
local out = {'ok'}
for i = 1, #fields do out[#out + 1] = fields[i] end
out[#out + 1] = 'ready';   out[#out + 1] = tostring(redis.call('LLEN', key.ready))
out[#out + 1] = 'leased';  out[#out + 1] = tostring(redis.call('ZCARD', key.leases))
out[#out + 1] = 'delayed'; out[#out + 1] = tostring(redis.call('ZCARD', key.delayed))
out[#out + 1] = 'now_ms';  out[#out + 1] = num(now_ms)
return out
