-- commit.lua: the fenced commit. IN_PROGRESS with this token -> DONE; DONE with this token -> ok again
-- (a retried commit activity); anything else is reported and left as it is. The output is already published
-- (DESIGN.md §2): after DONE only the remote action may be owed, and any cluster's poll finishes it once its
-- deadline passes.
-- KEYS[1] file hash, KEYS[2] inflight hash, KEYS[3] stats hash (counts commits), KEYS[4] due zset.
-- ARGV[1] token, ARGV[2] result ('' for none), ARGV[3] path, ARGV[4] ms after which a poll takes the remote action
-- over ('' when the source has none).
-- Returns JSON { ok = true, alreadyCommitted, record } or { ok = false, reason, record? }.
local file_key, inflight_key, stats_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, result, path, action_grace = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rec = read_record(file_key)

local verdict = fence(rec, token, { DONE = true })
if verdict == 'repeat' then
  return cjson.encode({ ok = true, alreadyCommitted = true, record = rec })
elseif verdict ~= 'act' then
  return verdict
end

local now = now_ms()
rec.status, rec.doneAt = 'DONE', tostring(now)
redis.call('HSET', file_key, 'status', 'DONE', 'doneAt', rec.doneAt)
redis.call('HDEL', file_key, 'openRuns', 'missingSince')
rec.openRuns, rec.missingSince = nil, nil
if result ~= '' then
  rec.result = result
  redis.call('HSET', file_key, 'result', result)
end
if action_grace ~= '' then
  rec.action = 'pending'
  redis.call('HSET', file_key, 'action', 'pending')
  set_due(due_key, path, now + tonumber(action_grace))
else
  clear_due(due_key, path)
end
-- What only an attempt in flight needs goes: a finished record is kept small (there may be millions). pollRun
-- stays: it tells a poll's claim from a backfill's.
redis.call('HDEL', file_key, 'leaseUntil', 'retryAt')
rec.leaseUntil, rec.retryAt = nil, nil
set_finished(due_key, path, now)
add_inflight(inflight_key, rec.owner, -1)
redis.call('HINCRBY', stats_key, 'commits', 1)
return cjson.encode({ ok = true, alreadyCommitted = false, record = rec })
