-- begin-run.lua: a run of a long step (download, process) of a claim starts: renews the lease like renew.lua and
-- counts the run as open until end-run.lua closes it. Runs still open when a new one starts ended without a word:
-- their worker died or hung. At maxCrashes of them the attempt stops ('crash-loop'), so a file that kills its
-- worker every time ends REJECTED instead of looping forever.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path, ARGV[2] token, ARGV[3] leaseMs, ARGV[4] maxCrashes.
-- Returns JSON { ok = true, leaseUntil, crashes } or { ok = false, reason ('crash-loop' or a fence reason), ... }.
local records_key, due_key = KEYS[1], KEYS[2]
local path, token, lease_ms, max_crashes = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rec = read_record(records_key, path)

local verdict = fence(rec, token, {})
if verdict ~= 'act' then
  return verdict
end

local crashes = tonumber(rec.openRuns or '0')
if crashes >= max_crashes then
  return cjson.encode({ ok = false, reason = 'crash-loop', crashes = crashes, record = rec })
end
local lease_until = now_ms() + lease_ms
rec.leaseUntil, rec.openRuns = lease_until, crashes + 1
write_record(records_key, path, rec)
set_due(due_key, path, lease_until)
return cjson.encode({ ok = true, leaseUntil = lease_until, crashes = crashes })
