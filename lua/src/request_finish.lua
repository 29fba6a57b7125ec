-- request_finish.lua: the live service records how a request ended. Finished requests are
-- kept for `GET /v1/jobs/{id}` and `refold status`: the last 100 of the projection.
--
-- KEYS: the projection's 6 request keys (see request.lua).
-- ARGV[1] request id   ARGV[2] "done" | "failed"   ARGV[3] report (JSON text) or error text
-- ARGV[4] the job that ran it (optional: a fork-join job id)
-- Replies: {"finished", request_id} | {"missing"}
-- Errors:  "ERR refold: request_finish: ..." (nothing written)

local SCRIPT = 'request_finish'
--- @include "requests"
local id, state = ARGV[1] or '', ARGV[2] or ''
if state ~= 'done' and state ~= 'failed' then return fail_arg('the state must be "done" or "failed"') end
local text = redis.call('HGET', req.requests, id)
if not text then return {'missing'} end
local record = cjson.decode(text)
record.state = state
record.finished_ms = now_ms
if state == 'done' then record.report = ARGV[3] or '' else record.error = string.sub(ARGV[3] or '', 1, 4000) end
record.job = ARGV[4] or record.job or ''
redis.call('HSET', req.requests, id, record_json(record))
if redis.call('GET', req.running) == id then redis.call('DEL', req.running) end
redis.call('LPUSH', req.done, id)
for _, old in ipairs(redis.call('LRANGE', req.done, 100, -1)) do redis.call('HDEL', req.requests, old) end
redis.call('LTRIM', req.done, 0, 99)
return {'finished', id}
