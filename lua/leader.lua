-- Generated from lua/src/leader.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- leader.lua: the live service's leadership of one projection, as a lease. Exactly one
-- runner holds it; it renews it every third of the lease; a standby takes it when it lapses
-- (the leader died, hung, or lost Redis). The holder also fences its database writes with a
-- lock of its own (refold_locks), so a leader that lost the lease cannot write any more.
--
-- KEYS[1] refold:{live:<projection>}:leader   (hash: owner, token, since_ms)
-- ARGV[1] "acquire" | "renew" | "release"   ARGV[2] owner (host:pid)   ARGV[3] token (unique per runner)
-- ARGV[4] lease ms (acquire, renew)
-- Replies: {"held", owner, token, since_ms, ttl_ms} (the caller holds it now)
--        | {"taken", owner, token, since_ms, ttl_ms} (another holds it) | {"released"} | {"free"}
-- Errors:  "ERR refold: leader: ..." (nothing written)

local function fail_arg(what) return redis.error_reply('ERR refold: leader: ' .. what) end
if #KEYS ~= 1 then return fail_arg('expected 1 key, got ' .. #KEYS) end
local op, owner, token, lease = ARGV[1], ARGV[2] or '', ARGV[3] or '', tonumber(ARGV[4] or '0')
if op ~= 'acquire' and op ~= 'renew' and op ~= 'release' then return fail_arg('the operation must be acquire, renew or release') end
if owner == '' or token == '' then return fail_arg('owner and token must not be empty') end
if op ~= 'release' and (lease == nil or lease < 1 or lease ~= math.floor(lease)) then return fail_arg('lease ms must be an integer >= 1') end

local clock = redis.call('TIME')
local now_ms = math.floor((tonumber(clock[1]) * 1000000 + tonumber(clock[2])) / 1000)
local function num(x) return string.format('%.0f', x) end
local function reply(state)
  local holder = redis.call('HMGET', KEYS[1], 'owner', 'token', 'since_ms')
  return {state, holder[1] or '', holder[2] or '', holder[3] or '', num(math.max(0, redis.call('PTTL', KEYS[1])))}
end

local current = redis.call('HGET', KEYS[1], 'token')
if op == 'release' then
  if current == token then
    redis.call('DEL', KEYS[1])
    return {'released'}
  end
  return {'free'}
end
if current and current ~= token then return reply('taken') end
if op == 'renew' and not current then return reply('taken') end
if not current then
  redis.call('HSET', KEYS[1], 'owner', owner, 'token', token, 'since_ms', num(now_ms))
end
redis.call('PEXPIRE', KEYS[1], num(lease))
return reply('held')
