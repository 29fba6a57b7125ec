-- include/finalize.lua: ends the job exactly once: records the final state, drops the queues
-- nobody may claim from any more, pushes one signal for the coordinator (BLMOVE on
-- key.signal), publishes it, and lets every key of the job expire together after its
-- retention period. Callers check first that the job is still "building" or "open".
local function finalize(final_state, now_ms, reason)
  redis.call('HSET', key.job, 'state', final_state, 'finished_ms', now_ms, 'reason', reason)
  redis.call('DEL', key.ready, key.leases, key.delayed)
  redis.call('RPUSH', key.signal, final_state)
  redis.call('PUBLISH', 'refold:{' .. redis.call('HGET', key.job, 'id') .. '}:finished', final_state)
  local retention = redis.call('HGET', key.job, 'retention_ms')
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
end
