#!lua flags=no-writes
-- status.lua: read a job's state without changing anything (runs on replicas too).
--
-- KEYS: the job's 14 keys.
-- ARGV: none
-- Replies: {"missing"} | {"ok", field, value, field, value, ...} with every field of the job
-- hash (docs/PROTOCOL.md) plus "ready", "leased", "delayed" (queue sizes) and "now_ms"
-- (server time, so callers can tell the age of a job stuck in "building").

if #KEYS ~= 14 then return redis.error_reply('ERR refold: status: expected the job\'s 14 keys, got ' .. #KEYS) end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {'missing'} end
local out = {'ok'}
for i = 1, #fields do out[#out + 1] = fields[i] end
local clock = redis.call('TIME')
out[#out + 1] = 'ready';   out[#out + 1] = tostring(redis.call('LLEN', KEYS[7]))
out[#out + 1] = 'leased';  out[#out + 1] = tostring(redis.call('ZCARD', KEYS[8]))
out[#out + 1] = 'delayed'; out[#out + 1] = tostring(redis.call('ZCARD', KEYS[9]))
out[#out + 1] = 'now_ms';  out[#out + 1] = string.format('%.0f', tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
return out
