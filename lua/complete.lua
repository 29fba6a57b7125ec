-- complete.lua: record finished tasks; each is counted exactly once.
--
-- Per task: "done" (counted now), "duplicate" (already done with this very token: a repeated
-- completion, e.g. after a lost reply, is a no-op), "stale" (the caller's lease is gone: its
-- token no longer matches, so its result is rejected), or "closed" (the job has finished).
-- The completion that resolves the last task finalizes the job, once; later ones cannot,
-- because finalize() only runs while the job is "open".
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id   ARGV[2] n (1..1000)
-- then n quadruples: task id, token, events folded, result (opaque text, e.g. JSON)
-- Replies: {job_state, fired ("1" if this call finished the job), n, outcome per task...}
--        | {"missing"}
-- Errors:  "ERR refold: complete: ..." (nothing written)

local function fail_arg(what) return redis.error_reply('ERR refold: complete: ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local worker, n = ARGV[1] or '', tonumber(ARGV[2])
if worker == '' then return fail_arg('worker id must not be empty') end
if n == nil or n < 1 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 1 to 1000') end
if #ARGV ~= 2 + 4 * n then return fail_arg('expected ' .. (2 + 4 * n) .. ' arguments, got ' .. #ARGV) end
for i = 1, n do
  local events = tonumber(ARGV[4 * i + 1])
  if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events of task #' .. i .. ' must be an integer >= 0') end
end

local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end

-- BEGIN shared clock (server time only: clients' clocks never decide a lease)
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- END shared clock

-- BEGIN shared progress (the same text in every script that tracks progress; a test keeps the copies equal)
-- Progress is kept per task (KEYS[12]) and as a running sum on the job (events_done), so a
-- status read is O(1). A task that goes back to the queue gives its progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', KEYS[12], task) or '0')
  redis.call('HSET', KEYS[12], task, num(events))
  if events ~= old then redis.call('HINCRBY', KEYS[1], 'events_done', num(events - old)) end
end
-- END shared progress

-- BEGIN shared finalize (the same text in seal, complete, fail, reap and cancel; a test keeps the copies equal)
-- Ends the job exactly once: records the final state, drops the queues nobody may claim
-- from any more, pushes one signal for the coordinator (BLPOP), publishes it, and lets
-- every key of the job expire together after its retention period.
local function finalize(final_state, now_ms, reason)
  redis.call('HSET', KEYS[1], 'state', final_state, 'finished_ms', now_ms, 'reason', reason)
  redis.call('DEL', KEYS[7], KEYS[8], KEYS[9])
  redis.call('RPUSH', KEYS[14], final_state)
  redis.call('PUBLISH', 'refold:{' .. redis.call('HGET', KEYS[1], 'id') .. '}:finished', final_state)
  local retention = redis.call('HGET', KEYS[1], 'retention_ms')
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
end
-- END shared finalize

-- BEGIN shared settle (the same text in complete, fail and reap; a test keeps the copies equal)
-- Called after a task became done or dead. Under the "fail" policy the first dead task
-- fails the job; otherwise the job joins when every task is resolved. Returns the final
-- state when this call finished the job, nil otherwise; finalize() runs at most once per
-- job because every caller first checks that the job is still "open".
local function settle(now_ms)
  local job = redis.call('HMGET', KEYS[1], 'total', 'done', 'dead', 'on_dead')
  local total, done, dead = tonumber(job[1]), tonumber(job[2]), tonumber(job[3])
  if job[4] == 'fail' and dead > 0 then
    finalize('failed', num(now_ms), 'a task was dead-lettered and the job policy is "fail"')
    return 'failed'
  end
  if done + dead >= total then
    finalize('joined', num(now_ms), '')
    return 'joined'
  end
  return nil
end
-- END shared settle

local fired = '0'
local outcomes = {}
for i = 1, n do
  local id, token = ARGV[4 * i - 1], ARGV[4 * i]
  local events, result = tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  local task_state = redis.call('HGET', KEYS[3], id)
  local outcome
  if task_state == 'done' then
    local record = cjson.decode(redis.call('HGET', KEYS[10], id))
    outcome = (record.token == token) and 'duplicate' or 'stale'
  elseif state ~= 'open' then
    outcome = 'closed'
  elseif task_state == 'leased' and redis.call('HGET', KEYS[5], id) == token then
    redis.call('HSET', KEYS[3], id, 'done')
    redis.call('ZREM', KEYS[8], id)
    redis.call('HDEL', KEYS[5], id)
    set_progress(id, events)
    redis.call('HSET', KEYS[10], id, cjson.encode({
      worker = worker, token = token, attempt = redis.call('HGET', KEYS[4], id),
      started_ms = redis.call('HGET', KEYS[13], id) or '', finished_ms = num(now_ms),
      events = num(events), result = result}))
    redis.call('HINCRBY', KEYS[1], 'done', 1)
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
