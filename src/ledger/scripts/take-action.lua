-- take-action.lua: a poll takes over the remote action (delete, rename) owed by a DONE version whose committing
-- workflow did not finish it in time (its cluster may be gone). Pushes the deadline by leaseMs, so one poll at a
-- time acts; the actions themselves are idempotent, so a race costs nothing.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path, ARGV[2] version, ARGV[3] leaseMs.
-- Returns JSON { ok }.
local records_key, due_key = KEYS[1], KEYS[2]
local path, version, lease_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rec = read_record(records_key, path)
local now = now_ms()
local score = tonumber(redis.call('ZSCORE', due_key, path) or '0')
if rec.status ~= 'DONE' or rec.version ~= version or rec.action ~= 'pending' or score > now then
  return cjson.encode({ ok = false })
end
set_due(due_key, path, now + lease_ms)
return cjson.encode({ ok = true })
