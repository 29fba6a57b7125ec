-- Generated from lua/src/release.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- release.lua: a worker hands a task back without having failed it (it is shutting down, or
-- it cannot run the task on its host). The task goes to the front of the queue at once and
-- the claim does not count as an attempt, so a graceful shutdown never pushes a task
-- towards its dead letter. The job counts releases ("releases"); a reason, when given, is
-- kept as "release_reason" so operators and the coordinator can say why nothing advances.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] task id   ARGV[2] token   ARGV[3] reason (optional, at most 1000 bytes kept)
-- Replies: {"released"} | {"stale"} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: release: ..." (nothing written)

local SCRIPT = 'release'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
if #ARGV ~= 2 and #ARGV ~= 3 then return fail_arg('expected 2 or 3 arguments, got ' .. #ARGV) end
local id, token = ARGV[1], ARGV[2]
local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end
if state ~= 'open' then return {'closed', state} end
if redis.call('HGET', key.states, id) ~= 'leased' or redis.call('HGET', key.tokens, id) ~= token then return {'stale'} end

-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- include/progress.lua: progress is kept per task (key.progress) and as a running sum on the
-- job (events_done), so a status read is O(1). A task that goes back to the queue gives its
-- progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', key.progress, task) or '0')
  redis.call('HSET', key.progress, task, num(events))
  if events ~= old then redis.call('HINCRBY', key.job, 'events_done', num(events - old)) end
end

redis.call('HSET', key.states, id, 'ready')
redis.call('ZREM', key.leases, id)
redis.call('HDEL', key.tokens, id)
redis.call('HINCRBY', key.attempts, id, -1)
redis.call('LPUSH', key.ready, id)
set_progress(id, 0)
redis.call('HINCRBY', key.job, 'releases', 1)
if ARGV[3] and ARGV[3] ~= '' then redis.call('HSET', key.job, 'release_reason', string.sub(ARGV[3], 1, 1000)) end
return {'released'}
