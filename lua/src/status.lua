#!lua flags=no-writes
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
--- @include "prelude"
local fields = redis.call('HGETALL', key.job)
if #fields == 0 then return {'missing'} end
--- @include "clock"
local out = {'ok'}
for i = 1, #fields do out[#out + 1] = fields[i] end
out[#out + 1] = 'ready';   out[#out + 1] = tostring(redis.call('LLEN', key.ready))
out[#out + 1] = 'leased';  out[#out + 1] = tostring(redis.call('ZCARD', key.leases))
out[#out + 1] = 'delayed'; out[#out + 1] = tostring(redis.call('ZCARD', key.delayed))
out[#out + 1] = 'now_ms';  out[#out + 1] = num(now_ms)
return out
