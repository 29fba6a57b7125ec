-- include/prelude.lua: argument errors, and the job's 14 keys by name (docs/PROTOCOL.md, "Keys").
-- Every script takes the same keys in the same order; nothing is written before this check.
local function fail_arg(what) return redis.error_reply('ERR refold: ' .. SCRIPT .. ': ' .. what) end
if #KEYS ~= 14 then return fail_arg('expected the job\'s 14 keys, got ' .. #KEYS) end
local key = {
  job = KEYS[1], specs = KEYS[2], states = KEYS[3], attempts = KEYS[4], tokens = KEYS[5],
  owners = KEYS[6], ready = KEYS[7], leases = KEYS[8], delayed = KEYS[9], results = KEYS[10],
  dead = KEYS[11], progress = KEYS[12], started = KEYS[13], signal = KEYS[14],
}
