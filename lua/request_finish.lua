-- Generated from lua/src/request_finish.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- request_finish.lua: the live service records how a request ended. Finished requests are
-- kept for `GET /v1/jobs/{id}` and `refold status`: the last 100 of the projection.
--
-- KEYS: the projection's 6 request keys (see request.lua).
-- ARGV[1] request id   ARGV[2] "done" | "failed"   ARGV[3] report (JSON text) or error text
-- ARGV[4] the job that ran it (optional: a fork-join job id)
-- Replies: {"finished", request_id} | {"missing"}
-- Errors:  "ERR refold: request_finish: ..." (nothing written)

local SCRIPT = 'request_finish'
-- include/requests.lua: the keys of one projection's request queue, checked, and the JSON of a
-- request record (built by hand: cjson cannot tell an empty array from an empty object).
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 6 then return fail_arg('expected the 6 request keys, got ' .. #KEYS) end
local req = {pending = KEYS[1], queue = KEYS[2], requests = KEYS[3], seq = KEYS[4], running = KEYS[5], done = KEYS[6]}
local projection = string.match(KEYS[1], '^refold:{requests:([%w_]+)}:pending$')
if not projection or #projection > 60 then return fail_arg('KEYS[1] must be refold:{requests:<projection>}:pending') end
local prefix = 'refold:{requests:' .. projection .. '}:'
if req.queue ~= prefix .. 'queue' or req.requests ~= prefix .. 'requests' or req.seq ~= prefix .. 'seq'
  or req.running ~= prefix .. 'running' or req.done ~= prefix .. 'done' then
  return fail_arg('the keys must be ' .. prefix .. 'pending, queue, requests, seq, running and done, in that order')
end
local function record_json(r)
  local ids = {}
  for i, id in ipairs(r.aggregates or {}) do ids[i] = cjson.encode(id) end
  return '{"id":' .. cjson.encode(r.id) .. ',"projection":' .. cjson.encode(r.projection) .. ',"kind":' .. cjson.encode(r.kind)
    .. ',"aggregates":[' .. table.concat(ids, ',') .. '],"state":' .. cjson.encode(r.state)
    .. ',"requested_ms":' .. cjson.encode(r.requested_ms or '') .. ',"started_ms":' .. cjson.encode(r.started_ms or '')
    .. ',"finished_ms":' .. cjson.encode(r.finished_ms or '') .. ',"job":' .. cjson.encode(r.job or '')
    .. ',"report":' .. cjson.encode(r.report or '') .. ',"error":' .. cjson.encode(r.error or '') .. '}'
end
local clock = redis.call('TIME')
local now_ms = string.format('%.0f', math.floor((tonumber(clock[1]) * 1000000 + tonumber(clock[2])) / 1000))
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
