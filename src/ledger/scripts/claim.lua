-- claim.lua: claims a batch of listed candidates for one cluster, in candidate order (DESIGN.md §4).
-- KEYS[1] token counter, KEYS[2] paths set, KEYS[3] inflight hash, KEYS[4] dead-letter stream, KEYS[5] due zset,
-- KEYS[5 + i] file hash of candidate i.
-- ARGV[1] clusterId, ARGV[2] pollRun, ARGV[3] leaseMs, ARGV[4] maxTries, ARGV[5] maxAcceptPerPoll,
-- ARGV[6] maxInFlight, ARGV[7] versionPolicy ('reprocess' | 'ignore'), ARGV[8] dryRun ('1' writes nothing),
-- then 5 per candidate: path, version, mtimeMs, size, workflowIdBase (the script appends '#<attempt>').
-- Returns JSON { claims = [...], skipped = { reason = count }, rejected = [...], decisions = [...] (dry run) }.
local token_key, paths_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cluster, poll_run = ARGV[1], ARGV[2]
local lease_ms, max_tries = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_accept, max_inflight, policy = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local dry_run = ARGV[8] == '1'
local FIRST_FILE_KEY, FIRST_CANDIDATE_ARG = 6, 9
local now = now_ms()

local candidates, records = {}, {}
for i = 1, #KEYS - (FIRST_FILE_KEY - 1) do
  local a = FIRST_CANDIDATE_ARG + (i - 1) * 5
  candidates[i] = {
    key = KEYS[FIRST_FILE_KEY - 1 + i], path = ARGV[a], version = ARGV[a + 1],
    mtimeMs = tonumber(ARGV[a + 2]), size = tonumber(ARGV[a + 3]), base = ARGV[a + 4],
  }
  records[i] = read_record(candidates[i].key)
end

local function retry_or_reject(rec)
  if tonumber(rec.tries or '0') >= max_tries then
    return 'reject'
  end
  return 'retry'
end

-- What the rules make of one candidate: 'new' | 'retry' | 'reject' | 'same-run' | 'skip' (+ reason).
local function decide(rec, c)
  local status = rec.status
  if status == nil then
    return 'new'
  end
  local same_version = rec.version == c.version
  if status == 'DONE' or status == 'REJECTED' then
    if same_version or policy == 'ignore' then
      return 'skip', status == 'DONE' and 'done' or 'rejected'
    end
    return 'new'
  end
  if status == 'IN_PROGRESS' and tonumber(rec.leaseUntil or '0') > now then
    if rec.owner ~= cluster then
      return 'skip', 'leased'
    end
    if same_version and rec.pollRun == poll_run then
      return 'same-run'
    end
    return 'skip', 'in-flight'
  end
  if not same_version then
    return 'new'
  end
  if status == 'RETRY_WAIT' and tonumber(rec.retryAt or '0') > now then
    return 'skip', 'retry-wait'
  end
  return retry_or_reject(rec)
end

local decisions, reasons = {}, {}
local accepted = 0 -- claims returned so far plus same-run claims still owed (reserved first, see below)
for i, c in ipairs(candidates) do
  decisions[i], reasons[i] = decide(records[i], c)
  if decisions[i] == 'same-run' then
    accepted = accepted + 1
  end
end

local mine = tonumber(redis.call('HGET', inflight_key, cluster) or '0')
local claims, skipped, rejected, explained = {}, {}, {}, {}

local function skip(c, reason)
  skipped[reason] = (skipped[reason] or 0) + 1
  explained[#explained + 1] = { path = c.path, decision = 'skip', reason = reason }
end

local function claim_view(c, rec)
  return {
    path = c.path, version = rec.version, mtimeMs = tonumber(rec.mtimeMs), size = tonumber(rec.size),
    token = tonumber(rec.token), tries = tonumber(rec.tries), attempt = tonumber(rec.attempt),
    workflowId = rec.workflowId, leaseUntil = tonumber(rec.leaseUntil),
  }
end

-- A new attempt: fresh token and lease; the previous owner's in-flight count moves to this cluster.
local function take(c, rec, fresh)
  local was_mine = rec.status == 'IN_PROGRESS' and rec.owner == cluster
  if not was_mine then
    mine = mine + 1
  end
  local tries = fresh and 1 or tonumber(rec.tries or '0') + 1
  -- attempt never resets for a version (unlike tries), so each attempt's workflow id is new to Temporal.
  local attempt = fresh and 1 or tonumber(rec.attempt or rec.tries or '0') + 1
  local lease_until = now + lease_ms
  local workflow_id = c.base .. '#' .. attempt
  if dry_run then
    return {
      path = c.path, version = c.version, mtimeMs = c.mtimeMs, size = c.size, tries = tries, attempt = attempt,
      workflowId = workflow_id, leaseUntil = lease_until,
    }
  end
  if rec.status == 'IN_PROGRESS' and not was_mine then
    add_inflight(inflight_key, rec.owner, -1)
  end
  if not was_mine then
    add_inflight(inflight_key, cluster, 1)
  end
  local token = redis.call('INCR', token_key)
  redis.call('HSET', c.key, 'version', c.version, 'mtimeMs', c.mtimeMs, 'size', c.size, 'status', 'IN_PROGRESS',
    'tries', tries, 'attempt', attempt, 'token', token, 'owner', cluster, 'pollRun', poll_run,
    'leaseUntil', lease_until, 'lastTryAt', now, 'workflowId', workflow_id)
  redis.call('HDEL', c.key, 'retryAt', 'doneAt', 'result', 'missingSince', 'openRuns', 'action', 'actionResult')
  if fresh then
    redis.call('HDEL', c.key, 'error')
  elseif rec.status == 'IN_PROGRESS' then
    redis.call('HSET', c.key, 'error', 'lease expired')
  end
  redis.call('SADD', paths_key, c.path)
  set_due(due_key, c.path, lease_until)
  clear_finished(due_key, c.path)
  return {
    path = c.path, version = c.version, mtimeMs = c.mtimeMs, size = c.size, token = token, tries = tries,
    attempt = attempt, workflowId = workflow_id, leaseUntil = lease_until,
  }
end

-- A record the sweep had found missing from the listing is listed again: its clock stops.
local function seen_again(c, rec)
  if dry_run or rec.missingSince == nil then
    return
  end
  redis.call('HDEL', c.key, 'missingSince')
  local deadline = rec.status == 'IN_PROGRESS' and rec.leaseUntil or rec.retryAt
  if deadline ~= nil then
    set_due(due_key, c.path, tonumber(deadline))
  end
end

-- Caps limit new attempts only: a same-run claim is owed to a retried listing, and taking over this
-- cluster's own expired lease does not change its in-flight count.
local function within_caps(rec)
  if accepted >= max_accept then
    return false
  end
  local adds_inflight = not (rec.status == 'IN_PROGRESS' and rec.owner == cluster)
  return not adds_inflight or mine < max_inflight
end

for i, c in ipairs(candidates) do
  local rec, decision = records[i], decisions[i]
  seen_again(c, rec)
  if decision == 'skip' then
    skip(c, reasons[i])
  elseif decision == 'same-run' then
    claims[#claims + 1] = claim_view(c, rec)
    explained[#explained + 1] = { path = c.path, decision = 'claim', reason = 'same-run' }
  elseif decision == 'reject' then
    local last_error = rec.status == 'IN_PROGRESS' and 'lease expired' or (rec.error or 'unknown')
    if not dry_run then
      reject_record(c.key, inflight_key, dlq_key, due_key, c.path, rec, 'max tries reached: ' .. last_error)
    end
    rejected[#rejected + 1] = { path = c.path, version = rec.version, tries = tonumber(rec.tries), error = rec.error }
    explained[#explained + 1] = { path = c.path, decision = 'reject', reason = 'max-tries' }
  elseif not within_caps(rec) then
    skip(c, 'cap')
  else
    accepted = accepted + 1
    claims[#claims + 1] = take(c, rec, decision == 'new')
    explained[#explained + 1] = { path = c.path, decision = 'claim', reason = decision }
  end
end

local reply = { claims = claims, skipped = skipped, rejected = rejected }
if dry_run then
  reply.decisions = explained
end
return cjson.encode(reply)
