-- fork.lua: create a job in the "building" state (no worker can claim it yet).
-- Protocol version 1. See docs/PROTOCOL.md for the key layout.
--
-- KEYS: the job's 14 keys, in the order of docs/PROTOCOL.md (the job hash first).
-- ARGV[1] job id          ARGV[2] protocol version ("1")
-- ARGV[3] max attempts    ARGV[4] lease ms        ARGV[5] backoff ms
-- ARGV[6] on dead task: "fail" (the job fails) or "join" (join, reporting failures)
-- ARGV[7] retention ms (keys expire this long after the job finishes)
-- ARGV[8] payload: opaque text for workers (what to do), stored as is
-- Replies: {"ok"} | {"exists", state}
-- Errors:  "ERR refold: fork: ..." for invalid arguments; nothing is written then.

local SCRIPT = 'fork'
--- @include "prelude"
local function positive_int(text)
  local n = tonumber(text)
  if n == nil or n ~= math.floor(n) or n < 1 then return nil end
  return n
end

if #ARGV ~= 8 then return fail_arg('expected 8 arguments, got ' .. #ARGV) end
local job_id = ARGV[1]
if not string.match(job_id, '^[%w%._%-]+$') or #job_id > 100 then
  return fail_arg('job id must be 1-100 letters, digits, ".", "_" or "-"')
end
-- The keys must be this job's: a job id that differs from the {tag} of its keys would put
-- one job's data under another's name.
if key.job ~= 'refold:{' .. job_id .. '}:job' then return fail_arg('the job key must be refold:{' .. job_id .. '}:job for job ' .. job_id .. ' (every key of a job carries its id as the hash tag)') end
if ARGV[2] ~= '1' then return fail_arg('protocol version ' .. ARGV[2] .. ' is not supported (this server speaks 1)') end
if not positive_int(ARGV[3]) then return fail_arg('max attempts must be an integer >= 1') end
if not positive_int(ARGV[4]) then return fail_arg('lease ms must be an integer >= 1') end
if not positive_int(ARGV[5]) then return fail_arg('backoff ms must be an integer >= 1') end
if ARGV[6] ~= 'fail' and ARGV[6] ~= 'join' then return fail_arg('on-dead policy must be "fail" or "join"') end
if not positive_int(ARGV[7]) then return fail_arg('retention ms must be an integer >= 1') end

local existing = redis.call('HGET', key.job, 'state')
if existing then return {'exists', existing} end

--- @include "clock"
redis.call('HSET', key.job,
  'id', job_id, 'protocol', ARGV[2], 'state', 'building',
  'created_ms', num(now_ms), 'sealed_ms', '', 'finished_ms', '',
  'max_attempts', ARGV[3], 'lease_ms', ARGV[4], 'backoff_ms', ARGV[5],
  'on_dead', ARGV[6], 'retention_ms', ARGV[7], 'payload', ARGV[8],
  'registered', '0', 'total', '0', 'done', '0', 'dead', '0',
  'retries', '0', 'stalls', '0', 'events_total', '0', 'events_done', '0',
  'last_token', '0', 'reason', '')
return {'ok'}
