-- drop.lua: delete every key of a job that is finished, or stuck in "building" for at
-- least ARGV[1] ms (its coordinator died between fork and seal). Open jobs are refused:
-- cancel them first.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] minimum age in ms of a "building" job before it may be dropped
-- Replies: {"dropped", state} | {"active", state} | {"missing"}
-- Errors:  "ERR refold: drop: ..." (nothing written)

local SCRIPT = 'drop'
--- @include "prelude"
local min_age = tonumber(ARGV[1])
if min_age == nil or min_age < 0 then return fail_arg('minimum age must be a number >= 0') end
local job = redis.call('HMGET', key.job, 'state', 'created_ms')
if not job[1] then return {'missing'} end

--- @include "clock"

if job[1] == 'open' then return {'active', 'open'} end
if job[1] == 'building' and now_ms - tonumber(job[2]) < min_age then return {'active', 'building'} end
redis.call('DEL', unpack(KEYS))
return {'dropped', job[1]}
