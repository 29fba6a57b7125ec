-- cancel.lua: stop a job that is building or open. Later claims get nothing ("closed"),
-- heartbeats answer "cancelled", and the coordinator's wait on the signal list returns.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] reason (free text, shown by status; at most 1000 bytes kept)
-- Replies: {"cancelled"} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: cancel: ..." (nothing written)

local SCRIPT = 'cancel'
--- @include "prelude"
local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end
if state ~= 'open' and state ~= 'building' then return {'closed', state} end

--- @include "clock"
--- @include "finalize"

finalize('cancelled', num(now_ms), string.sub(ARGV[1] or '', 1, 1000))
return {'cancelled'}
