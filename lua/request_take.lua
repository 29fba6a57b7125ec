-- Generated from lua/src/request_take.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- request_take.lua: the live service (the projection's leader) takes the next request to
-- execute. A request still marked running was the previous leader's, who stopped before
-- finishing it: it is handed out again first. Once taken, a request no longer merges.
--
-- KEYS: the projection's 6 request keys (see request.lua).
-- ARGV: none
-- Replies: {"request", request_id, record_json} | {"empty"}

local SCRIPT = 'request_take'
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
