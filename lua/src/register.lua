-- register.lua: add one chunk of tasks to a job that is still "building".
-- Call it as many times as needed (chunks of at most 1000 tasks), then seal.lua.
-- Re-sending a chunk (a lost reply) is harmless: a task id already registered with the
-- same spec is skipped; with a different spec the whole chunk is refused.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] n (1..1000), then n pairs: task id, task spec (opaque text)
-- Replies: {"ok", registered_total} | {"missing"} | {"closed", state}
-- Errors:  "ERR refold: register: ..." (nothing written)

local SCRIPT = 'register'
--- @include "prelude"
local n = tonumber(ARGV[1])
if n == nil or n ~= math.floor(n) or n < 1 or n > 1000 then return fail_arg('n must be an integer from 1 to 1000') end
if #ARGV ~= 1 + 2 * n then return fail_arg('expected ' .. (1 + 2 * n) .. ' arguments for ' .. n .. ' tasks, got ' .. #ARGV) end

local state = redis.call('HGET', key.job, 'state')
if not state then return {'missing'} end
if state ~= 'building' then return {'closed', state} end

-- Validate the whole chunk before the first write.
local fresh = {}
local seen = {}
for i = 1, n do
  local id, spec = ARGV[2 * i], ARGV[2 * i + 1]
  if id == '' or #id > 200 then return fail_arg('task id #' .. i .. ' must be 1-200 bytes') end
  if seen[id] then return fail_arg('task id "' .. id .. '" appears twice in one chunk') end
  seen[id] = true
  local old = redis.call('HGET', key.specs, id)
  if old then
    if old ~= spec then return fail_arg('task id "' .. id .. '" is already registered with a different spec') end
  else
    fresh[#fresh + 1] = i
  end
end

for _, i in ipairs(fresh) do
  local id = ARGV[2 * i]
  redis.call('HSET', key.specs, id, ARGV[2 * i + 1])
  redis.call('HSET', key.states, id, 'ready')
  redis.call('HSET', key.attempts, id, '0')
  redis.call('RPUSH', key.ready, id)
end
local registered = redis.call('HINCRBY', key.job, 'registered', #fresh)
return {'ok', tostring(registered)}
