-- claim.lua: claims a batch of listed candidates for one cluster, in candidate order (DESIGN.md §4).
-- KEYS[1] token counter, KEYS[2] records hash, KEYS[3] inflight hash, KEYS[4] dead-letter stream, KEYS[5] due zset.
-- ARGV[1] clusterId, ARGV[2] pollRun, ARGV[3] leaseMs, ARGV[4] maxTries, ARGV[5] maxAcceptPerPoll,
-- ARGV[6] maxInFlight, ARGV[7] versionPolicy ('reprocess' | 'ignore'), ARGV[8] dryRun ('1' writes nothing),
-- ARGV[9] the candidates, one per line: '<path>\t<version>\n' (one argument: thousands of small ones cost far
-- more to send and unpack than the script's work; paths hold no control characters, DESIGN.md §8).
-- The Redis calls are a constant few per batch, whatever its size: one HMGET reads every record, one INCRBY
-- issues the batch's tokens, one HSET and one ZADD write its claims (a rare reject or stopped vanish clock adds one).
-- Returns JSON { claims = [[i, token, tries, attempt, leaseUntil], ...] (i: the candidate's index, from 1),
-- skipped = { reason = count }, rejected = [...], decisions = [...] (dry run) }.
local token_key, records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cluster, poll_run = ARGV[1], ARGV[2]
local lease_ms, max_tries = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_accept, max_inflight, policy = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local dry_run = ARGV[8] == '1'
-- Values per variadic call: Lua's unpack() has a bound on how many it spreads.
local CHUNK = 2000
local now = now_ms()

local candidates, paths = {}, {}
for path, version in gmatch(ARGV[9], '([^\t\n]*)\t([^\t\n]*)\n') do
  candidates[#candidates + 1] = { path = path, version = version }
  paths[#paths + 1] = path
end

local function hmget(paths)
  local values = {}
  for first = 1, #paths, CHUNK do
    local got = redis.call('HMGET', records_key, unpack(paths, first, math.min(first + CHUNK - 1, #paths)))
    for k = 1, #got do
      values[first + k - 1] = got[k]
    end
  end
  return values
end

-- Variadic write of flat (a, b) pairs, CHUNK values at a time.
local function write_pairs(command, key, flat)
  for first = 1, #flat, CHUNK do
    redis.call(command, key, unpack(flat, first, math.min(first + CHUNK - 1, #flat)))
  end
end

local function retry_or_reject(rec)
  if tonumber(rec.tries or '0') >= max_tries then
    return 'reject'
  end
  return 'retry'
end

-- The common cases of a steady poll, read off the head of the packed record (status, version, owner, lease,
-- poll run) without unpacking the rest: a finished record of this version (or of any version, with policy
-- 'ignore'), and a live lease that is not a same-run claim, are skipped. nil: decide on the whole record.
local D, R, BAR = byte('D'), byte('R'), byte('|')
local HEAD = '^I|([^|]*)|([^|]*)|([^|]*)|([^|]*)'
local cluster_packed, poll_run_packed = escape_value(cluster), escape_value(poll_run)
local lease_until = now + lease_ms
local lease_until_packed, now_packed = tostring(lease_until), tostring(now)
local function quick_skip(packed, c)
  local code = byte(packed, 1)
  if code == D or code == R then
    local n = #c.version
    if policy == 'ignore' or (byte(packed, n + 3) == BAR and sub(packed, 3, n + 2) == c.version) then
      return code == D and 'done' or 'rejected'
    end
    return nil
  end
  local version, owner, lease, run = match(packed, HEAD)
  local lease_until = tonumber(lease)
  if lease_until == nil or lease_until <= now then
    return nil
  end
  if owner ~= cluster_packed then
    return 'leased'
  end
  if version == c.version and run == poll_run_packed then
    return nil
  end
  return 'in-flight'
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

local packed = hmget(paths)

local decisions, reasons, records = {}, {}, {}
local accepted = 0 -- claims returned so far plus same-run claims still owed (reserved first, see below)
for i, c in ipairs(candidates) do
  local skip_reason = packed[i] and quick_skip(packed[i], c)
  if skip_reason then
    decisions[i], reasons[i], records[i] = 'skip', skip_reason, false
  else
    records[i] = unpack_record(packed[i])
    decisions[i], reasons[i] = decide(records[i], c)
    if decisions[i] == 'same-run' then
      accepted = accepted + 1
    end
  end
end

local mine = tonumber(redis.call('HGET', inflight_key, cluster) or '0')
local claims, skipped, rejected, explained = {}, {}, {}, {}
local taken = {} -- candidate indexes of new attempts, in order: they get their tokens together
local inflight_delta = {} -- owner -> change of its in-flight count, applied once at the end

local function skip(c, reason)
  skipped[reason] = (skipped[reason] or 0) + 1
  if dry_run then
    explained[#explained + 1] = { path = c.path, decision = 'skip', reason = reason }
  end
end

local function explain(c, decision, reason)
  if dry_run then
    explained[#explained + 1] = { path = c.path, decision = decision, reason = reason }
  end
end

local function move_inflight(owner, delta)
  inflight_delta[owner] = (inflight_delta[owner] or 0) + delta
end

-- A new attempt: lease from now; its token is issued below with the batch's. The previous owner's in-flight
-- count moves to this cluster.
local function take(i, c, rec, fresh)
  local was_mine = rec.status == 'IN_PROGRESS' and rec.owner == cluster
  if not was_mine then
    mine = mine + 1
  end
  local tries = fresh and 1 or tonumber(rec.tries or '0') + 1
  -- attempt never resets for a version (unlike tries), so each attempt's workflow id is new to Temporal.
  local attempt = fresh and 1 or tonumber(rec.attempt or rec.tries or '0') + 1
  local error_text = nil
  if not fresh then
    error_text = rec.status == 'IN_PROGRESS' and 'lease expired' or rec.error
  end
  if not dry_run then
    if rec.status == 'IN_PROGRESS' and not was_mine then
      move_inflight(rec.owner, -1)
    end
    if not was_mine then
      move_inflight(cluster, 1)
    end
  end
  records[i] = {
    status = 'IN_PROGRESS', version = c.version, tries = tries, attempt = attempt, owner = cluster,
    pollRun = poll_run, leaseUntil = lease_until, lastTryAt = now, error = error_text,
  }
  taken[#taken + 1] = i
  claims[#claims + 1] = i
end

-- pack_record for a new attempt's record, its fields in RECORD_FIELDS order written out: a first poll packs
-- thousands, and the batch's own values (owner, poll run, lease, time) are formatted once. It reads back as
-- pack_record(rec) would (the ledger tests read every field of a claim back).
local function pack_claim(rec)
  return concat({ 'I', escape_value(rec.version), cluster_packed, lease_until_packed, poll_run_packed,
    tostring(rec.tries), tostring(rec.attempt), tostring(rec.token), '', '', now_packed, '', rec.error and
    escape_value(rec.error) or '' }, '|')
end

-- A record the sweep had found missing from the listing is listed again: its clock stops.
local function seen_again(c, rec)
  if dry_run or rec.missingSince == nil then
    return
  end
  rec.missingSince = nil
  write_record(records_key, c.path, rec)
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
  if rec then
    seen_again(c, rec)
  end
  if decision == 'skip' then
    skip(c, reasons[i])
  elseif decision == 'same-run' then
    claims[#claims + 1] = i
    explain(c, 'claim', 'same-run')
  elseif decision == 'reject' then
    local last_error = rec.status == 'IN_PROGRESS' and 'lease expired' or (rec.error or 'unknown')
    if not dry_run then
      reject_record(records_key, inflight_key, dlq_key, due_key, c.path, rec, 'max tries reached: ' .. last_error)
    end
    rejected[#rejected + 1] = { path = c.path, version = rec.version, tries = tonumber(rec.tries), error = rec.error }
    explain(c, 'reject', 'max-tries')
  elseif not within_caps(rec) then
    skip(c, 'cap')
  else
    accepted = accepted + 1
    take(i, c, rec, decision == 'new')
    explain(c, 'claim', decision)
  end
end

if #taken > 0 and not dry_run then
  local last_token = redis.call('INCRBY', token_key, #taken)
  local writes, deadlines = {}, {}
  for k, i in ipairs(taken) do
    local rec = records[i]
    rec.token = last_token - #taken + k
    writes[#writes + 1] = candidates[i].path
    writes[#writes + 1] = pack_claim(rec)
    deadlines[#deadlines + 1] = lease_until_packed
    deadlines[#deadlines + 1] = candidates[i].path
  end
  write_pairs('HSET', records_key, writes)
  write_pairs('ZADD', due_key, deadlines)
  for owner, delta in pairs(inflight_delta) do
    add_inflight(inflight_key, owner, delta)
  end
end

-- Each claim as [index, token, tries, attempt, leaseUntil]: the caller knows the rest (path, version, and so its
-- workflow id).
local views = {}
for k, i in ipairs(claims) do
  local rec = records[i]
  views[k] = { i, tonumber(rec.token or '0'), tonumber(rec.tries), tonumber(rec.attempt), tonumber(rec.leaseUntil) }
end

local reply = { claims = views, skipped = skipped, rejected = rejected }
if dry_run then
  reply.decisions = explained
end
return cjson.encode(reply)
