-- include/settle.lua: called after a task became done or dead. Under the "fail" policy the
-- first dead task fails the job; otherwise the job joins when every task is resolved.
-- Returns the final state when this call finished the job, nil otherwise; finalize() runs
-- at most once per job because every caller first checks that the job is still "open".
--- @include "finalize"
local function settle(now_ms)
  local job = redis.call('HMGET', key.job, 'total', 'done', 'dead', 'on_dead')
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
