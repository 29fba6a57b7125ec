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
--- @include "prelude"
if #ARGV ~= 2 and #ARGV ~= 3 then return fail_arg('expected 2 or 3 arguments, got ' .. #ARGV) end
local id, token = ARGV[1], ARGV[2]
local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end
if state ~= 'open' then return {'closed', state} end
if redis.call('HGET', key.states, id) ~= 'leased' or redis.call('HGET', key.tokens, id) ~= token then return {'stale'} end

--- @include "clock"
--- @include "progress"

redis.call('HSET', key.states, id, 'ready')
redis.call('ZREM', key.leases, id)
redis.call('HDEL', key.tokens, id)
redis.call('HINCRBY', key.attempts, id, -1)
redis.call('LPUSH', key.ready, id)
set_progress(id, 0)
redis.call('HINCRBY', key.job, 'releases', 1)
if ARGV[3] and ARGV[3] ~= '' then redis.call('HSET', key.job, 'release_reason', string.sub(ARGV[3], 1, 1000)) end
return {'released'}
