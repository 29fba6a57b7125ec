-- Generated from lua/src/drop.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- drop.lua: delete every key of a job that is finished, or stuck in "building" for at
-- least ARGV[1] ms (its coordinator died between fork and seal). Open jobs are refused:
-- cancel them first.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] minimum age in ms of a "building" job before it may be dropped
-- Replies: {"dropped", state} | {"active", state} | {"missing"}
-- Errors:  "ERR refold: drop: ..." (nothing written)

local SCRIPT = 'drop'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local min_age = tonumber(ARGV[1])
if min_age == nil or min_age < 0 then return fail_arg('minimum age must be a number >= 0') end
local job = redis.call('HMGET', key.job, 'state', 'created_ms')
if not job[1] then return {'missing'} end

-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end

if job[1] == 'open' then return {'active', 'open'} end
if job[1] == 'building' and now_ms - tonumber(job[2]) < min_age then return {'active', 'building'} end
redis.call('DEL', unpack(KEYS))
return {'dropped', job[1]}
