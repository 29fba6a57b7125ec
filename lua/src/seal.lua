-- seal.lua: open a "building" job for claiming, in one step, once every chunk is registered.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] expected number of tasks (the coordinator's own count: proves no chunk was lost)
-- ARGV[2] expected number of events in all tasks (for progress and ETA; 0 if unknown)
-- Replies: {"ok", state} (state is "open", or "joined" for a job with no tasks)
--        | {"incomplete", registered} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: seal: ..." (nothing written)

local SCRIPT = 'seal'
--- @include "prelude"
local expected, events = tonumber(ARGV[1]), tonumber(ARGV[2])
if expected == nil or expected < 0 or expected ~= math.floor(expected) then return fail_arg('expected task count must be an integer >= 0') end
if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events total must be an integer >= 0') end

local job = redis.call('HMGET', key.job, 'state', 'registered')
if not job[1] then return {'missing'} end
if job[1] ~= 'building' then return {'closed', job[1]} end
if tonumber(job[2]) ~= expected then return {'incomplete', job[2]} end

--- @include "clock"
--- @include "finalize"

redis.call('HSET', key.job, 'state', 'open', 'sealed_ms', num(now_ms), 'total', num(expected), 'events_total', num(events))
if expected == 0 then
  finalize('joined', num(now_ms), '')
  return {'ok', 'joined'}
end
return {'ok', 'open'}
