-- renew.lua: extends the lease of a claim, only while its token still owns the IN_PROGRESS record.
-- KEYS[1] file hash. ARGV[1] token, ARGV[2] leaseMs.
-- Returns JSON { ok = true, leaseUntil } or { ok = false, reason, record? }.
local file_key = KEYS[1]
local token, lease_ms = ARGV[1], tonumber(ARGV[2])
local rec = read_record(file_key)

local verdict = fence(rec, token, {})
if verdict ~= 'act' then
  return verdict
end

local lease_until = now_ms() + lease_ms
redis.call('HSET', file_key, 'leaseUntil', lease_until)
return cjson.encode({ ok = true, leaseUntil = lease_until })
