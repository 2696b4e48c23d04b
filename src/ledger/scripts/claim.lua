-- claim.lua: claims a batch of listed candidates for one cluster, in candidate order (DESIGN.md §4).
-- KEYS[1] token counter, KEYS[2] records hash, KEYS[3] inflight hash, KEYS[4] dead-letter stream, KEYS[5] due zset.
-- ARGV[1] clusterId, ARGV[2] pollRun, ARGV[3] leaseMs, ARGV[4] maxTries, ARGV[5] maxAcceptPerPoll,
-- ARGV[6] maxInFlight, ARGV[7] versionPolicy ('reprocess' | 'ignore'), ARGV[8] dryRun ('1' writes nothing),
-- ARGV[9] the candidates, one per line: '<path>\t<version>\n' (one argument: thousands of small ones cost far
-- more to send and unpack than the script's work; paths hold no control characters, DESIGN.md §8),
-- ARGV[10] how long ago (ms) the listing that gave the candidates began ('' when unknown).
-- The Redis calls are a constant few per batch, whatever its size: one HMGET reads every record, one INCRBY
-- issues the batch's tokens, one HSET and one ZADD write its claims (a rare reject or stopped vanish clock adds one).
-- Returns JSON { marks, first, lease, detail, skipped = { reason = count }, rejected = [...], decisions = [...] (dry
-- run) }. marks: one character per candidate, '' when nothing is claimed: '.' not claimed; 'n' a new attempt of a new
-- version (tries 1, attempt 1); 'r' another attempt of the same version; 's' a same-run claim. New attempts ('n', 'r')
-- get tokens first + 1, first + 2, ... in candidate order (first: nil in a dry run, whose claims carry token 0) and
-- lease until `lease`. detail: the rest, flat, in candidate order: 'r' tries, attempt; 's' token, tries, attempt,
-- leaseUntil. Most claims of a poll are new files, so a first poll's reply carries no number per file (encoding
-- 5 numbers per claim cost more than writing the claims).
local token_key, records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cluster, poll_run = ARGV[1], ARGV[2]
local lease_ms, max_tries = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_accept, max_inflight, policy = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local dry_run = ARGV[8] == '1'
-- Values per variadic call: Lua's unpack() has a bound on how many it spreads.
local CHUNK = 2000
local now = now_ms()
-- When the listing began, in this server's time. A record of another version claimed or finished since then may
-- be of a version this listing never saw (a later round of a poll claims from its first listing; a long listing
-- takes minutes): the listing's version is no newer, and taking it would overwrite a newer DONE record.
local listed_ago = tonumber(ARGV[10] or '')
local listed_at = listed_ago and now - listed_ago

-- Candidate i is paths[i], versions[i] (arrays, not a table per candidate: a batch has thousands).
local paths, versions, count = {}, {}, 0
for path, version in gmatch(ARGV[9], '([^\t\n]*)\t([^\t\n]*)\n') do
  count = count + 1
  paths[count], versions[count] = path, version
end

local function hmget(paths)
  if #paths <= CHUNK then
    return redis.call('HMGET', records_key, unpack(paths))
  end
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

-- The common cases of a steady poll, read off the head of the packed record (status, version, owner, lease,
-- poll run) without unpacking the rest: a finished record of this version (or of any version, with policy
-- 'ignore'), and a live lease that is not a same-run claim, are skipped. nil: decide on the whole record.
local D, R, BAR = byte('D'), byte('R'), byte('|')
local HEAD = '^I|([^|]*)|([^|]*)|([^|]*)|([^|]*)'
local cluster_packed, poll_run_packed = escape_value(cluster), escape_value(poll_run)
local lease_until = now + lease_ms
local lease_until_packed, now_packed = tostring(lease_until), tostring(now)
local function quick_skip(packed, version)
  local code = byte(packed, 1)
  if code == D or code == R then
    local n = #version
    if policy == 'ignore' or (byte(packed, n + 3) == BAR and sub(packed, 3, n + 2) == version) then
      return code == D and 'done' or 'rejected'
    end
    return nil
  end
  local head_version, owner, lease, run = match(packed, HEAD)
  local leased_until = tonumber(lease)
  if leased_until == nil or leased_until <= now then
    return nil
  end
  if owner ~= cluster_packed then
    return 'leased'
  end
  if head_version == version and run == poll_run_packed then
    return nil
  end
  return 'in-flight'
end

-- The record (of another version than the candidate's) was claimed or finished after the listing began.
local function changed_since_listing(rec)
  if listed_at == nil then
    return false
  end
  local done, rejected = tonumber(rec.doneAt or '0'), tonumber(rec.rejectedAt or '0')
  local changed = math.max(tonumber(rec.lastTryAt or '0'), done, rejected)
  return changed >= listed_at
end

-- What the rules make of one candidate: 'new' | 'retry' | 'restart' | 'reject' | 'same-run' | 'skip' (+ reason).
local function decide(rec, version)
  local status = rec.status
  if status == nil then
    return 'new'
  end
  local same_version = rec.version == version
  if status == 'DONE' or status == 'REJECTED' then
    if same_version or policy == 'ignore' then
      return 'skip', status == 'DONE' and 'done' or 'rejected'
    end
    if changed_since_listing(rec) then
      return 'skip', 'stale-listing'
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
    if changed_since_listing(rec) then
      return 'skip', 'stale-listing'
    end
    return 'new'
  end
  if status == 'RETRY_WAIT' and tonumber(rec.retryAt or '0') > now then
    return 'skip', 'retry-wait'
  end
  -- A lapsed attempt that never began a run (its workflow was not started, or never reached its first step:
  -- Temporal away or overloaded, its poll or worker lost) tried nothing: a new attempt costs the file no try.
  if status == 'IN_PROGRESS' and rec.openRuns == nil then
    return 'restart'
  end
  if tonumber(rec.tries or '0') >= max_tries then
    return 'reject'
  end
  return 'retry'
end

local packed = hmget(paths)

-- A path without a record: one shared empty table (never written to), not one per new file.
local NO_RECORD = {}
local decisions, reasons, records = {}, {}, {}
local skipped = {}
local accepted = 0 -- claims returned so far plus same-run claims still owed (reserved first, see below)
for i = 1, count do
  local value = packed[i]
  local skip_reason = value and quick_skip(value, versions[i])
  if skip_reason then
    -- Counted here; a dry run explains it in the loop below.
    skipped[skip_reason] = (skipped[skip_reason] or 0) + 1
    decisions[i], reasons[i] = 'quick-skip', skip_reason
  elseif not value then
    decisions[i], records[i] = 'new', NO_RECORD
  else
    records[i] = unpack_record(value)
    decisions[i], reasons[i] = decide(records[i], versions[i])
    if decisions[i] == 'same-run' then
      accepted = accepted + 1
    end
  end
end

local mine = tonumber(redis.call('HGET', inflight_key, cluster) or '0')
local rejected, explained = {}, {}
-- The reply's marks and detail (see the top). New attempts get their tokens together at the end.
local marks, detail = {}, {}
local claimed = 0
local taken, taken_tries, taken_attempt, taken_error = {}, {}, {}, {} -- per new attempt: candidate index, ...
local inflight_delta = {} -- owner -> change of its in-flight count, applied once at the end

local function explain(i, decision, reason)
  if dry_run then
    explained[#explained + 1] = { path = paths[i], decision = decision, reason = reason }
  end
end

local function skip(i, reason)
  skipped[reason] = (skipped[reason] or 0) + 1
  explain(i, 'skip', reason)
end

local function move_inflight(owner, delta)
  inflight_delta[owner] = (inflight_delta[owner] or 0) + delta
end

-- Appends values to the reply's detail.
local function add_detail(a, b, c, d)
  local n = #detail
  detail[n + 1], detail[n + 2] = a, b
  if c ~= nil then
    detail[n + 3], detail[n + 4] = c, d
  end
end

-- A new attempt: lease from now; its token is issued below with the batch's. The previous owner's in-flight
-- count moves to this cluster. decision: 'new', 'retry' (one more try) or 'restart' (the same try again).
local function take(i, rec, decision)
  local fresh = decision == 'new'
  local was_mine = rec.status == 'IN_PROGRESS' and rec.owner == cluster
  if not was_mine then
    mine = mine + 1
    if not dry_run then
      if rec.status == 'IN_PROGRESS' then
        move_inflight(rec.owner, -1)
      end
      move_inflight(cluster, 1)
    end
  end
  local tries = fresh and 1 or tonumber(rec.tries or '0') + (decision == 'retry' and 1 or 0)
  -- attempt never resets for a version (unlike tries), so each attempt's workflow id is new to Temporal.
  local attempt = fresh and 1 or tonumber(rec.attempt or rec.tries or '0') + 1
  local n = #taken + 1
  taken[n], taken_tries[n], taken_attempt[n] = i, tries, attempt
  claimed = claimed + 1
  if fresh then
    marks[i] = 'n'
  else
    marks[i] = 'r'
    add_detail(tries, attempt)
  end
  if decision == 'retry' then
    taken_error[n] = rec.status == 'IN_PROGRESS' and 'lease expired' or rec.error
  elseif decision == 'restart' then
    taken_error[n] = rec.error
  end
end

-- A new attempt's record, its fields in RECORD_FIELDS order written out (pack_record's format): a first poll
-- packs thousands, and the batch's own values (owner, poll run, lease, time) are formatted once. The ledger
-- tests read every field of a claim back.
local function pack_claim(version, tries, attempt, token, error_text)
  return 'I|' .. escape_value(version) .. '|' .. cluster_packed .. '|' .. lease_until_packed .. '|' ..
    poll_run_packed .. '|' .. tries .. '|' .. attempt .. '|' .. token .. '|||' .. now_packed .. '||' ..
    (error_text and escape_value(error_text) or '')
end

-- A record the sweep had found missing from the listing is listed again: its clock stops.
local function seen_again(i, rec)
  if dry_run or rec.missingSince == nil then
    return
  end
  rec.missingSince = nil
  write_record(records_key, paths[i], rec)
  local deadline = rec.status == 'IN_PROGRESS' and rec.leaseUntil or rec.retryAt
  if deadline ~= nil then
    set_due(due_key, paths[i], tonumber(deadline))
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

for i = 1, count do
  local rec, decision = records[i], decisions[i]
  if rec then
    seen_again(i, rec)
  end
  if decision == 'quick-skip' then
    if dry_run then
      explain(i, 'skip', reasons[i])
    end
  elseif decision == 'skip' then
    skip(i, reasons[i])
  elseif decision == 'same-run' then
    marks[i], claimed = 's', claimed + 1
    add_detail(tonumber(rec.token), tonumber(rec.tries), tonumber(rec.attempt), tonumber(rec.leaseUntil))
    explain(i, 'claim', 'same-run')
  elseif decision == 'reject' then
    local last_error = rec.status == 'IN_PROGRESS' and 'lease expired' or (rec.error or 'unknown')
    if not dry_run then
      reject_record(records_key, inflight_key, dlq_key, due_key, paths[i], rec, 'max tries reached: ' .. last_error)
    end
    rejected[#rejected + 1] = { path = paths[i], version = rec.version, tries = tonumber(rec.tries), error = rec.error }
    explain(i, 'reject', 'max-tries')
  elseif not within_caps(rec) then
    skip(i, 'cap')
  else
    accepted = accepted + 1
    take(i, rec, decision)
    explain(i, 'claim', decision)
  end
end

local first_token
if #taken > 0 and not dry_run then
  first_token = redis.call('INCRBY', token_key, #taken) - #taken
  local writes, deadlines = {}, {}
  for k, i in ipairs(taken) do
    writes[2 * k - 1], writes[2 * k] = paths[i], pack_claim(versions[i], taken_tries[k], taken_attempt[k],
      first_token + k, taken_error[k])
    deadlines[2 * k - 1], deadlines[2 * k] = lease_until_packed, paths[i]
  end
  write_pairs('HSET', records_key, writes)
  write_pairs('ZADD', due_key, deadlines)
  for owner, delta in pairs(inflight_delta) do
    add_inflight(inflight_key, owner, delta)
  end
end

local mark_text = ''
if claimed > 0 then
  local all = {}
  for i = 1, count do
    all[i] = marks[i] or '.'
  end
  mark_text = concat(all)
end
local reply = { marks = mark_text, first = first_token, lease = lease_until, detail = detail, skipped = skipped,
  rejected = rejected }
if dry_run then
  reply.decisions = explained
end
return cjson.encode(reply)
