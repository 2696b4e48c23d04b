-- common.lua: helpers prepended to every ledger script (scripts.ts joins them), so each transition stays one
-- atomic script without repeating the bookkeeping. Defines no KEYS/ARGV of its own.

-- Server time in ms: the one clock every cluster shares (workers' clocks drift).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The file hash as a Lua table ({} when the path has no record).
local function read_record(key)
  local flat = redis.call('HGETALL', key)
  local rec = {}
  for i = 1, #flat, 2 do
    rec[flat[i]] = flat[i + 1]
  end
  return rec
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
    'owner', rec.owner or '', 'workflowId', rec.workflowId or '')
end

-- The source's `due` ZSET holds every record that is not finished, scored by its deadline (lease end, retry
-- time, remote action owed): a poll sweeps what is due, so no state waits without an owner and a deadline.
local function set_due(due_key, path, at)
  redis.call('ZADD', due_key, at, path)
end

local function clear_due(due_key, path)
  redis.call('ZREM', due_key, path)
end

-- Finished records (DONE, REJECTED) by the time they finished, for retention: a record of a file that is gone
-- from the server is forgotten after a while (forget.lua). Its key is the due key's, suffixed (same hash tag,
-- so the same cluster slot as every other key of the source).
local function finished_key_of(due_key)
  return due_key .. ':finished'
end

local function set_finished(due_key, path, at)
  redis.call('ZADD', finished_key_of(due_key), at, path)
end

local function clear_finished(due_key, path)
  redis.call('ZREM', finished_key_of(due_key), path)
end

-- An operator's retry or reprocess: RETRY_WAIT due now with a fresh budget of tries; the attempt number is kept,
-- so the next workflow id is still a new one. Returns the record as it is now.
local function retry_now(file_key, due_key, path)
  local now = now_ms()
  redis.call('HSET', file_key, 'status', 'RETRY_WAIT', 'tries', 0, 'retryAt', now)
  redis.call('HDEL', file_key, 'missingSince', 'action')
  set_due(due_key, path, now)
  clear_finished(due_key, path)
  return read_record(file_key)
end

-- Turns a record REJECTED (in place, fields of rec updated too) and dead-letters it once.
local function reject_record(file_key, inflight_key, dlq_key, due_key, path, rec, error_text)
  if rec.status == 'IN_PROGRESS' then
    add_inflight(inflight_key, rec.owner, -1)
  end
  rec.status = 'REJECTED'
  rec.error = error_text
  redis.call('HSET', file_key, 'status', 'REJECTED', 'error', error_text)
  redis.call('HDEL', file_key, 'retryAt', 'missingSince', 'openRuns')
  rec.retryAt, rec.missingSince, rec.openRuns = nil, nil, nil
  clear_due(due_key, path)
  set_finished(due_key, path, now_ms())
  push_dead_letter(dlq_key, path, rec)
end

-- Why `token` may not act on `rec`, or nil when it is the record's current claim.
local function fence_failure(rec, token)
  if rec.status == nil then
    return 'missing'
  end
  if rec.token ~= token then
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

-- The fence of every call made with a claim's token: 'act' when `token` owns the IN_PROGRESS record, 'repeat'
-- when it owns it in one of the `settled` statuses (the same call made again after it succeeded), else the
-- JSON failure reply to return as it is.
local function fence(rec, token, settled)
  local reason = fence_failure(rec, token)
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
