-- Generated from lua/src/written.lua and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.
-- written.lua: write-through versions. Right after an event commits, its writer records the
-- aggregate's latest written version here; the value only ever rises, so writers racing or
-- repeating never lower it. Readers compare it with a row's version ("are you at version N
-- yet?"), `refold lag` counts aggregates whose row is behind, and the live service is woken
-- by the message published on `refold:written`.
--
-- KEYS[1] refold:written:{<aggregate>}   (the aggregate id is the key's hash tag)
-- ARGV[1] aggregate id   ARGV[2] version (integer >= 1)   ARGV[3] retention ms (optional; default 7 days)
-- Replies: {"raised", version} | {"kept", stored_version} (the stored one was as high or higher)
-- Errors:  "ERR refold: written: ..." (nothing written)

local function fail_arg(what) return redis.error_reply('ERR refold: written: ' .. what) end
if #KEYS ~= 1 then return fail_arg('expected 1 key, got ' .. #KEYS) end
if #ARGV < 2 or #ARGV > 3 then return fail_arg('expected 2 or 3 arguments, got ' .. #ARGV) end
local aggregate, version = ARGV[1], tonumber(ARGV[2])
local retention = tonumber(ARGV[3] or '604800000')
if aggregate == '' or #aggregate > 200 then return fail_arg('aggregate id must be 1-200 bytes') end
if KEYS[1] ~= 'refold:written:{' .. aggregate .. '}' then return fail_arg('the key must be refold:written:{' .. aggregate .. '}') end
if version == nil or version < 1 or version ~= math.floor(version) then return fail_arg('version must be an integer >= 1') end
if retention == nil or retention < 1 or retention ~= math.floor(retention) then return fail_arg('retention ms must be an integer >= 1') end

local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
if stored >= version then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', retention))
  return {'kept', string.format('%.0f', stored)}
end
redis.call('SET', KEYS[1], string.format('%.0f', version), 'PX', string.format('%.0f', retention))
redis.call('PUBLISH', 'refold:written', aggregate .. ' ' .. string.format('%.0f', version))
return {'raised', string.format('%.0f', version)}
