-- Generated from lua/src/heartbeat.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- heartbeat.lua: extend the leases a worker still holds and record its progress.
--
-- A lease is held while the task is "leased" with exactly the caller's token; anything else
-- (reaped, re-claimed by another worker, job finished) is reported lost, and the worker must
-- stop working on that task at once.
--
-- KEYS: the job's 14 keys.
-- ARGV[1] worker id   ARGV[2] lease ms (0 = the job's lease)   ARGV[3] n (0..1000)
-- then n triples: task id, token, events done so far in that task
-- Replies: {"ok", now_ms, lost_count, lost ids...}
--        | {"cancelled", now_ms, n, every task id}  (stop everything for this job)
--        | {"closed", now_ms, n, every task id, state} | {"missing"}
-- Errors:  "ERR refold: heartbeat: ..." (nothing written)

local SCRIPT = 'heartbeat'
-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
local lease_arg, n = tonumber(ARGV[2]), tonumber(ARGV[3])
if (ARGV[1] or '') == '' then return fail_arg('worker id must not be empty') end
if lease_arg == nil or lease_arg < 0 or lease_arg ~= math.floor(lease_arg) then return fail_arg('lease ms must be an integer >= 0') end
if n == nil or n < 0 or n > 1000 or n ~= math.floor(n) then return fail_arg('n must be an integer from 0 to 1000') end
if #ARGV ~= 3 + 3 * n then return fail_arg('expected ' .. (3 + 3 * n) .. ' arguments, got ' .. #ARGV) end
for i = 1, n do
  local events = tonumber(ARGV[3 + 3 * i])
  if events == nil or events < 0 or events ~= math.floor(events) then return fail_arg('events of task #' .. i .. ' must be an integer >= 0') end
end

local job = redis.call('HMGET', key.job, 'state', 'lease_ms')
if not job[1] then return {'missing'} end

-- include/clock.lua: server time only (clients' clocks never decide a lease).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
-- Numbers above 1e14 must be formatted by hand: Lua's default turns them into 1.7e+15.
local function num(x) return string.format('%.0f', x) end
-- include/progress.lua: progress is kept per task (key.progress) and as a running sum on the
-- job (events_done), so a status read is O(1). A task that goes back to the queue gives its
-- progress back.
local function set_progress(task, events)
  local old = tonumber(redis.call('HGET', key.progress, task) or '0')
  redis.call('HSET', key.progress, task, num(events))
  if events ~= old then redis.call('HINCRBY', key.job, 'events_done', num(events - old)) end
end

if job[1] ~= 'open' then
  local out = {job[1] == 'cancelled' and 'cancelled' or 'closed', num(now_ms), tostring(n)}
  for i = 1, n do out[#out + 1] = ARGV[1 + 3 * i] end
  if job[1] ~= 'cancelled' then out[#out + 1] = job[1] end
  return out
end

local lease = lease_arg > 0 and lease_arg or tonumber(job[2])
local lost = {}
for i = 1, n do
  local id, token, events = ARGV[1 + 3 * i], ARGV[2 + 3 * i], tonumber(ARGV[3 + 3 * i])
  if redis.call('HGET', key.states, id) == 'leased' and redis.call('HGET', key.tokens, id) == token then
    redis.call('ZADD', key.leases, 'XX', num(now_ms + lease), id)
    set_progress(id, events)
  else
    lost[#lost + 1] = id
  end
end
local out = {'ok', num(now_ms), tostring(#lost)}
for _, id in ipairs(lost) do out[#out + 1] = id end
return out
