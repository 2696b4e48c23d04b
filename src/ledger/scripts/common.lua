-- common.lua: helpers prepended to every ledger script (scripts.ts joins them), so each transition stays one
-- atomic script without repeating the bookkeeping. Defines no KEYS/ARGV of its own.

-- Locals: a global lookup per call costs more than most of what a claim does per file.
local find, gsub, gmatch, match, byte, sub = string.find, string.gsub, string.gmatch, string.match, string.byte,
  string.sub
local concat, tostring, tonumber, type = table.concat, tostring, tonumber, type

-- Server time in ms: the one clock every cluster shares (workers' clocks drift).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Every record of a source is one field of the source's `records` hash: path -> packed record, fields in the
-- order of RECORD_FIELDS, separated by '|' ('|' and '%' inside a text escaped as %7C and %25), trailing empty
-- fields left out. record.ts reads the same format: keep the two lists equal. What a claim decides on comes
-- first, so claim.lua can read it off the head without unpacking the rest. No record stores its workflow id: it
-- is the file's id base and the attempt (record.ts derives it).
local RECORD_FIELDS = { 'status', 'version', 'owner', 'leaseUntil', 'pollRun', 'tries', 'attempt', 'token', 'doneAt',
  'rejectedAt', 'lastTryAt', 'action', 'error', 'result', 'retryAt', 'missingSince', 'openRuns' }
-- Never add a field to this list: workers of an earlier release, still running during a rolling deploy or in
-- another cluster, unpack records with their own list and fail on a field they do not know. Keep what a new
-- release needs beside the record, in a key of its own (`runs`, for one).
-- What only an attempt in flight needs: a finished record (DONE, REJECTED) drops it, as there may be millions.
-- Of its poll run it keeps only the origin, the text up to a first ':' (`backfill:<id>` keeps `backfill:`; a
-- poll's run id, none), so a backfill's claim stays told from a poll's.
local IN_FLIGHT = { leaseUntil = true, retryAt = true, missingSince = true, openRuns = true }
local STATUS_CODE = { IN_PROGRESS = 'I', DONE = 'D', REJECTED = 'R', RETRY_WAIT = 'W' }
local STATUS_NAME = { I = 'IN_PROGRESS', D = 'DONE', R = 'REJECTED', W = 'RETRY_WAIT' }
local ESCAPES = { ['|'] = '%7C', ['%'] = '%25' }

-- Numbers are integers below 2^53 (ms times, counters): tostring writes them in full.
local function escape_value(v)
  if type(v) ~= 'string' then
    return tostring(v)
  end
  if find(v, '[|%%]') then
    return (gsub(v, '[|%%]', ESCAPES))
  end
  return v
end

local function unescape_value(v)
  if find(v, '%', 1, true) then
    return (gsub(v, '%%(%x%x)', function(hex) return string.char(tonumber(hex, 16)) end))
  end
  return v
end

local function is_finished(status)
  return status == 'DONE' or status == 'REJECTED'
end

-- The record as stored; drops the in-flight fields of a finished record from `rec` too, so a script's reply
-- shows what a later read will.
local FIELD_COUNT = #RECORD_FIELDS
local function pack_record(rec)
  if is_finished(rec.status) then
    for name in pairs(IN_FLIGHT) do
      rec[name] = nil
    end
    rec.pollRun = rec.pollRun and match(rec.pollRun, '^[^:]*:') or nil
  end
  local parts, last = { STATUS_CODE[rec.status] }, 1
  for i = 2, FIELD_COUNT do
    local v = rec[RECORD_FIELDS[i]]
    if v == nil then
      parts[i] = ''
    else
      parts[i], last = escape_value(v), i
    end
  end
  return concat(parts, '|', 1, last)
end

-- A packed record as a Lua table ({} for no record: false from HGET/HMGET).
local function unpack_record(packed)
  local rec = {}
  if not packed then
    return rec
  end
  local i = 0
  for v in gmatch(packed .. '|', '([^|]*)|') do
    i = i + 1
    if v ~= '' then
      rec[RECORD_FIELDS[i]] = unescape_value(v)
    end
  end
  rec.status = STATUS_NAME[rec.status]
  return rec
end

local function read_record(records_key, path)
  return unpack_record(redis.call('HGET', records_key, path))
end

local function write_record(records_key, path, rec)
  redis.call('HSET', records_key, path, pack_record(rec))
end

-- Keeps the per-cluster IN_PROGRESS count exact; empty entries are dropped so the hash lists only busy clusters.
local function add_inflight(inflight_key, owner, delta)
  if owner == nil or owner == '' or delta == 0 then
    return
  end
  if redis.call('HINCRBY', inflight_key, owner, delta) <= 0 then
    redis.call('HDEL', inflight_key, owner)
  end
end

-- The dead-letter stream is for visibility (the REJECTED record is the truth), so it is trimmed to a bound.
local DLQ_MAXLEN = 100000

local function push_dead_letter(dlq_key, path, rec)
  redis.call('XADD', dlq_key, 'MAXLEN', '~', DLQ_MAXLEN, '*',
    'path', path, 'version', rec.version or '', 'tries', rec.tries or '0', 'error', rec.error or '',
    'owner', rec.owner or '', 'attempt', rec.attempt or '')
end

-- The source's `due` ZSET holds every record that is not finished, scored by its deadline (lease end, retry
-- time, remote action owed): a poll sweeps what is due, so no state waits without an owner and a deadline.
local function set_due(due_key, path, at)
  redis.call('ZADD', due_key, at, path)
end

local function clear_due(due_key, path)
  redis.call('ZREM', due_key, path)
end

-- The long steps that count their runs (begin-run.lua, end-run.lua). The `runs` hash holds, per path, for the
-- attempt with the token it names, the runs of each step begun since that step last ended: '<token>:<d>,<p>'.
-- Counts of another token (an earlier attempt) are none: a new attempt starts clean without anyone clearing them.
local RUN_STEPS = { download = 1, process = 2 }

local function runs_in_row(runs_key, path, token)
  local t, d, p = match(redis.call('HGET', runs_key, path) or '', '^(%d+):(%d+),(%d+)$')
  if t ~= tostring(token) then
    return { 0, 0 }
  end
  return { tonumber(d), tonumber(p) }
end

local function set_runs_in_row(runs_key, path, token, counts)
  if counts[1] == 0 and counts[2] == 0 then
    redis.call('HDEL', runs_key, path)
  else
    redis.call('HSET', runs_key, path, token .. ':' .. counts[1] .. ',' .. counts[2])
  end
end

-- An operator's retry or reprocess: RETRY_WAIT due now with a fresh budget of tries; the attempt number is kept,
-- so the next workflow id is still a new one. Returns the record as it is now.
local function retry_now(records_key, due_key, path, rec)
  local now = now_ms()
  rec.status, rec.tries, rec.retryAt = 'RETRY_WAIT', 0, now
  rec.missingSince, rec.action, rec.doneAt, rec.rejectedAt = nil, nil, nil, nil
  write_record(records_key, path, rec)
  set_due(due_key, path, now)
  return rec
end

-- Turns a record REJECTED (in place, fields of rec updated too) and dead-letters it once.
local function reject_record(records_key, inflight_key, dlq_key, due_key, path, rec, error_text)
  if rec.status == 'IN_PROGRESS' then
    add_inflight(inflight_key, rec.owner, -1)
  end
  rec.status, rec.error, rec.rejectedAt = 'REJECTED', error_text, now_ms()
  push_dead_letter(dlq_key, path, rec)
  write_record(records_key, path, rec)
  clear_due(due_key, path)
end

-- A fenced call's claim argument: '<token>', or '<token>@<owner>' (the cluster the claim was made for). A Redis
-- that lost its last writes (a host crash, a failover without waitForReplicas) issues the lost tokens again, maybe
-- for the same paths to another cluster: the owner tells the two claims apart.
local function claim_of(arg)
  local token, owner = match(arg, '^(%d+)@(.*)$')
  if token then
    return token, owner
  end
  return arg, nil
end

-- Why the claim (`token`, and `owner` when given) may not act on `rec`, or nil when it is the record's current one.
local function fence_failure(rec, token, owner)
  if rec.status == nil then
    return 'missing'
  end
  if rec.token ~= token or (owner ~= nil and rec.owner ~= owner) then
    return 'superseded'
  end
  return nil
end

local function failure(reason, rec)
  if rec.status == nil then
    return cjson.encode({ ok = false, reason = reason })
  end
  return cjson.encode({ ok = false, reason = reason, record = rec })
end

-- The fence of every call made with a claim's token: 'act' when `token` (of `owner`, when given) owns the
-- IN_PROGRESS record, 'repeat' when it owns it in one of the `settled` statuses (the same call made again after it
-- succeeded), else the JSON failure reply to return as it is.
local function fence(rec, token, settled, owner)
  local reason = fence_failure(rec, token, owner)
  if reason == nil and settled[rec.status] then
    return 'repeat'
  end
  if reason == nil and rec.status ~= 'IN_PROGRESS' then
    reason = 'not-in-progress'
  end
  if reason ~= nil then
    return failure(reason, rec)
  end
  return 'act'
end
