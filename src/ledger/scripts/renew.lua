-- renew.lua: extends the lease of a claim, only while its token still owns the IN_PROGRESS record.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path, ARGV[2] token[@owner], ARGV[3] leaseMs.
-- Returns JSON { ok = true, leaseUntil } or { ok = false, reason, record? }.
local records_key, due_key = KEYS[1], KEYS[2]
local path, lease_ms = ARGV[1], tonumber(ARGV[3])
local token, owner = claim_of(ARGV[2])
local rec = read_record(records_key, path)

local verdict = fence(rec, token, {}, owner)
if verdict ~= 'act' then
  return verdict
end

local lease_until = now_ms() + lease_ms
rec.leaseUntil = lease_until
write_record(records_key, path, rec)
set_due(due_key, path, lease_until)
return cjson.encode({ ok = true, leaseUntil = lease_until })
