-- include/bury.lua: dead-letters a task: it is resolved (it counts towards the join) but not done.
--- @include "progress"
local function bury(task, error_text, attempt, worker, now_ms)
  redis.call('HSET', key.states, task, 'dead')
  redis.call('HSET', key.dead, task, cjson.encode({
    error = error_text, attempt = tostring(attempt), worker = worker or '', at_ms = num(now_ms)}))
  redis.call('ZREM', key.leases, task)
  redis.call('HDEL', key.tokens, task)
  set_progress(task, 0)
  redis.call('HINCRBY', key.job, 'dead', 1)
end
