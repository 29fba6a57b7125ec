-- request.lua: another service asks for a catch-up or a replay of one projection; `refold
-- run` (the live service) executes the requests, oldest first. One pending request per
-- projection and kind: a second one while the first has not started is merged into it (the
-- reply names the pending request), never queued twice.
--
-- KEYS: the projection's 6 request keys, in this order (P = the projection's name):
--   refold:{requests:P}:pending   hash   slot ("catchup", "rebuild", "replay") -> request id not started yet
--   refold:{requests:P}:queue     list   request ids, oldest first
--   refold:{requests:P}:requests  hash   request id -> the request's JSON record
--   refold:{requests:P}:seq       string counter for request ids
--   refold:{requests:P}:running   string the request being executed
--   refold:{requests:P}:done      list   finished request ids, newest first (the last 100 are kept)
-- ARGV[1] kind: "catchup" | "rebuild"
-- ARGV[2] aggregates (optional): a JSON array of aggregate ids; with "rebuild" it asks for a
--         replay of just those aggregates from their first event (none: the whole model)
-- Replies: {"queued", request_id} | {"merged", request_id}
-- Errors:  "ERR refold: request: ..." (nothing written)
-- A record: {"id","projection","kind","aggregates":[…],"state":"queued"|"running"|"done"|"failed",
--   "requested_ms","started_ms","finished_ms","job","report","error"} (all strings but aggregates).

local SCRIPT = 'request'
--- @include "requests"
local kind = ARGV[1] or ''
if kind ~= 'catchup' and kind ~= 'rebuild' then return fail_arg('kind must be "catchup" or "rebuild"') end
local aggregates = {}
if ARGV[2] and ARGV[2] ~= '' and ARGV[2] ~= '[]' then
  local ok, decoded = pcall(cjson.decode, ARGV[2])
  if not ok or type(decoded) ~= 'table' then return fail_arg('aggregates must be a JSON array of strings') end
  if kind ~= 'rebuild' then return fail_arg('aggregates go with kind "rebuild" (a replay of those aggregates)') end
  if #decoded > 10000 then return fail_arg('at most 10000 aggregates per request') end
  for _, id in ipairs(decoded) do
    if type(id) ~= 'string' or id == '' or #id > 200 then return fail_arg('each aggregate must be a string of 1-200 bytes') end
    aggregates[#aggregates + 1] = id
  end
end
-- A whole-model rebuild and a replay of some aggregates are different requests.
local slot = kind
if kind == 'rebuild' and #aggregates > 0 then slot = 'replay' end

local pending = redis.call('HGET', req.pending, slot)
if pending then
  if slot == 'replay' then
    local record = cjson.decode(redis.call('HGET', req.requests, pending))
    local seen = {}
    for _, id in ipairs(record.aggregates) do seen[id] = true end
    for _, id in ipairs(aggregates) do
      if not seen[id] then
        record.aggregates[#record.aggregates + 1] = id
        seen[id] = true
      end
    end
    redis.call('HSET', req.requests, pending, record_json(record))
  end
  return {'merged', pending}
end
local id = slot .. '-' .. projection .. '-' .. redis.call('INCR', req.seq)
redis.call('HSET', req.requests, id, record_json({id = id, projection = projection, kind = kind, aggregates = aggregates,
  state = 'queued', requested_ms = now_ms}))
redis.call('HSET', req.pending, slot, id)
redis.call('RPUSH', req.queue, id)
return {'queued', id}
