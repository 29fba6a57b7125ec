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
