-- renew-running.lua: extends the leases of a cluster's claims whose file workflows are still running (its poll
-- asked Temporal). A claim waiting for a worker slot, a workflow task timeout or Redis to come back is not a
-- failed try; only a cluster that stops polling lets its leases run out, and then another cluster takes over.
-- Also kept: this cluster's claims whose attempt has not begun a run yet (no openRuns) and that were made less
-- than ARGV[3] ms ago, even if their lease lapsed meanwhile (no other cluster took them: they are still this
-- cluster's). Their workflow may not be running yet: a loaded Temporal can take longer than a lease to start a
-- poll's children or to show them as running, and a Temporal that was away started none; such a claim taken over
-- would cost its file a try although nothing ran. A claim that never gets a workflow still ends, once that grace
-- has passed.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] clusterId, ARGV[2] leaseMs, ARGV[3] startGraceMs, then path,
-- version and attempt per running workflow (its id names exactly these: ledger.ts checks).
-- Returns the number of leases extended.
local records_key, due_key = KEYS[1], KEYS[2]
local cluster, lease_ms, start_grace_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local lease_until = now + lease_ms
local renewed = 0

local function renew(path, rec)
  rec.leaseUntil = lease_until
  write_record(records_key, path, rec)
  set_due(due_key, path, lease_until)
  renewed = renewed + 1
end

for i = 4, #ARGV, 3 do
  local path, version, attempt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local rec = read_record(records_key, path)
  -- The workflow names one claim attempt: a record claimed again since then has another one.
  if rec.status == 'IN_PROGRESS' and rec.owner == cluster and rec.version == version and rec.attempt == attempt then
    renew(path, rec)
  end
end

-- Leases are never shortened. A claim's due score is its lease end, which is after the claim was made, so the
-- scan reads just the deadlines in (now - grace, lease_until).
local MAX_WAITING = 10000
local waiting = redis.call('ZRANGEBYSCORE', due_key, '(' .. (now - start_grace_ms), '(' .. lease_until, 'LIMIT', 0,
  MAX_WAITING)
for _, path in ipairs(waiting) do
  local rec = read_record(records_key, path)
  if rec.status == 'IN_PROGRESS' and rec.owner == cluster and rec.openRuns == nil
    and tonumber(rec.lastTryAt or '0') > now - start_grace_ms and tonumber(rec.leaseUntil or '0') < lease_until then
    renew(path, rec)
  end
end
return cjson.encode(renewed)
