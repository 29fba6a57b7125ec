-- request_take.lua: the live service (the projection's leader) takes the next request to
-- execute. A request still marked running was the previous leader's, who stopped before
-- finishing it: it is handed out again first. Once taken, a request no longer merges.
--
-- KEYS: the projection's 6 request keys (see request.lua).
-- ARGV: none
-- Replies: {"request", request_id, record_json} | {"empty"}

local SCRIPT = 'request_take'
--- @include "requests"
local running = redis.call('GET', req.running)
if running then
  local record = redis.call('HGET', req.requests, running)
  if record then return {'request', running, record} end
  redis.call('DEL', req.running)
end
local id = redis.call('LPOP', req.queue)
if not id then return {'empty'} end
local record = cjson.decode(redis.call('HGET', req.requests, id))
local slot = record.kind
if record.kind == 'rebuild' and #record.aggregates > 0 then slot = 'replay' end
if redis.call('HGET', req.pending, slot) == id then redis.call('HDEL', req.pending, slot) end
record.state = 'running'
record.started_ms = now_ms
local text = record_json(record)
redis.call('HSET', req.requests, id, text)
redis.call('SET', req.running, id)
return {'request', id, text}
