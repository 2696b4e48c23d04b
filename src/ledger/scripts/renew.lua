-- renew.lua: extends the lease of a claim, only while its token still owns the IN_PROGRESS record.
-- KEYS[1] file hash, KEYS[2] due zset. ARGV[1] token, ARGV[2] leaseMs, ARGV[3] path.
-- Returns JSON { ok = true, leaseUntil } or { ok = false, reason, record? }.
local file_key, due_key = KEYS[1], KEYS[2]
local token, lease_ms, path = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local rec = read_record(file_key)

local verdict = fence(rec, token, {})
if verdict ~= 'act' then
  return verdict
end

local lease_until = now_ms() + lease_ms
redis.call('HSET', file_key, 'leaseUntil', lease_until)
set_due(due_key, path, lease_until)
return cjson.encode({ ok = true, leaseUntil = lease_until })
