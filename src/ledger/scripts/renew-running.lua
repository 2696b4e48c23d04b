-- renew-running.lua: extends the leases of a cluster's claims whose file workflows are still running (its poll
-- asked Temporal). A claim waiting for a worker slot, a workflow task timeout or Redis to come back is not a
-- failed try; only a cluster that stops polling lets its leases run out, and then another cluster takes over.
-- KEYS[1] due zset, then file hashes. ARGV[1] clusterId, ARGV[2] leaseMs, then workflowId and path per file key.
-- Returns the number of leases extended.
local cluster, lease_ms = ARGV[1], tonumber(ARGV[2])
local lease_until = now_ms() + lease_ms
local renewed = 0
local due_key = KEYS[1]
for i = 2, #KEYS do
  local file_key = KEYS[i]
  local rec = read_record(file_key)
  local workflow_id, path = ARGV[2 * i - 1], ARGV[2 * i]
  -- The workflow id names one claim attempt: a record claimed again since then has another one.
  if rec.status == 'IN_PROGRESS' and rec.owner == cluster and rec.workflowId == workflow_id then
    redis.call('HSET', file_key, 'leaseUntil', lease_until)
    set_due(due_key, path, lease_until)
    renewed = renewed + 1
  end
end
return cjson.encode(renewed)
