-- complete.lua: record finished tasks; each is counted exactly once.
--
-- Per task: "done" (counted now), "duplicate" (already done with this very token: a repeated
-- completion, e.g. after a lost reply, is a no-op), "stale" (the caller's lease is gone: its
-- token no longer matches, so its result is rejected), or "closed" (the job has finished).
-- The completion that resolves the last task finalizes the job, once; later ones cannot,
-- because finalize() only runs while the job is "open". An expired lease that nobody has
-- reaped yet still completes: its token is still the task's.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id   ARGV[2] n (1..1000)
-- then n quadruples: task id, token, events folded, result (opaque text, e.g. JSON)
-- Replies: {job_state, fired ("1" if this call finished the job), n, outcome per task...}
--        | {"missing"}
-- Errors:  "ERR refold: complete: ..." (nothing written)

local SCRIPT = 'complete'
--- @include "prelude"
local worker, n = ARGV[1] or '', tonumber(ARGV[2])
if worker == '' then return fail_arg('worker id must not be empty') end
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end
if #ARGV ~= 2 + 4 * n then return fail_arg('expected ' .. (2 + 4 * n) .. ' arguments, got ' .. #ARGV) end
for i = 1, n do
  local events = tonumber(ARGV[4 * i + 1])
  if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events of task #' .. i .. ' must be an integer >= 0') end
end

local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end

--- @include "clock"
--- @include "progress"
--- @include "settle"

local fired = '0'
local outcomes = {}
for i = 1, n do
  local id, token = ARGV[4 * i - 1], ARGV[4 * i]
  local events, result = tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  local task_state = redis.call('HGET', key.states, id)
  local outcome
  if task_state == 'done' then
    local record = cjson.decode(redis.call('HGET', key.results, id))
    outcome = (record.token == token) and 'duplicate' or 'stale'
  elseif state ~= 'open' then
    outcome = 'closed'
  elseif task_state == 'leased' and redis.call('HGET', key.tokens, id) == token then
    redis.call('HSET', key.states, id, 'done')
    redis.call('ZREM', key.leases, id)
    redis.call('HDEL', key.tokens, id)
    set_progress(id, events)
    redis.call('HSET', key.results, id, cjson.encode({
      worker = worker, token = token, attempt = redis.call('HGET', key.attempts, id),
      started_ms = redis.call('HGET', key.started, id) or '', finished_ms = num(now_ms),
      events = num(events), result = result}))
    redis.call('HINCRBY', key.job, 'done', 1)
    outcome = 'done'
    local finished = settle(now_ms)
    if finished then state = finished; fired = '1' end
  else
    outcome = 'stale'
  end
  outcomes[i] = outcome
end
local out = {state, fired, tostring(n)}
for i = 1, n do out[#out + 1] = outcomes[i] end
return out
