-- include/progress.lua: progress is kept per task (key.progress) and as a running sum on the
-- job (events_done), so a status read is O(1). A task that goes back to the queue gives its
-- progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', key.progress, task) or '0')
  redis.call('HSET', key.progress, task, num(events))
  if events ~= old then redis.call('HINCRBY', key.job, 'events_done', num(events - old)) end
end
