-- renew-running.lua: extends the leases of a cluster's claims whose file workflows are still running (its poll
-- asked Temporal). A claim waiting for a worker slot, a workflow task timeout or Redis to come back is not a
-- failed try; only a cluster that stops polling lets its leases run out, and then another cluster takes over.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] clusterId, ARGV[2] leaseMs, then path, version and attempt per
-- running workflow (its id names exactly these: ledger.ts checks).
-- Returns the number of leases extended.
local records_key, due_key = KEYS[1], KEYS[2]
local cluster, lease_ms = ARGV[1], tonumber(ARGV[2])
local lease_until = now_ms() + lease_ms
local renewed = 0
for i = 3, #ARGV, 3 do
  local path, version, attempt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local rec = read_record(records_key, path)
  -- The workflow names one claim attempt: a record claimed again since then has another one.
  if rec.status == 'IN_PROGRESS' and rec.owner == cluster and rec.version == version and rec.attempt == attempt then
    rec.leaseUntil = lease_until
    write_record(records_key, path, rec)
    set_due(due_key, path, lease_until)
    renewed = renewed + 1
  end
end
return cjson.encode(renewed)
