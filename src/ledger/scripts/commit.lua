-- commit.lua: the fenced commit. IN_PROGRESS with this token -> DONE; DONE with this token -> ok again
-- (a retried commit activity); anything else is reported and left as it is. The output is already published
-- (DESIGN.md §2): after DONE only the remote action may be owed, and any cluster's poll finishes it once its
-- deadline passes.
-- KEYS[1] records hash, KEYS[2] inflight hash, KEYS[3] stats hash (counts commits), KEYS[4] due zset.
-- ARGV[1] path, ARGV[2] token[@owner], ARGV[3] result ('' for none), ARGV[4] ms after which a poll takes the remote
-- action over ('' when the source has none).
-- Returns JSON { ok = true, alreadyCommitted, record } or { ok = false, reason, record? }.
local records_key, inflight_key, stats_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local path, result, action_grace = ARGV[1], ARGV[3], ARGV[4]
local token, owner = claim_of(ARGV[2])
local rec = read_record(records_key, path)

local verdict = fence(rec, token, { DONE = true }, owner)
if verdict == 'repeat' then
  return cjson.encode({ ok = true, alreadyCommitted = true, record = rec })
elseif verdict ~= 'act' then
  return verdict
end

local now = now_ms()
add_inflight(inflight_key, rec.owner, -1)
rec.status, rec.doneAt = 'DONE', tostring(now)
if result ~= '' then
  rec.result = result
end
if action_grace ~= '' then
  rec.action = 'pending'
  set_due(due_key, path, now + tonumber(action_grace))
else
  clear_due(due_key, path)
end
-- Finished: the record drops what only an attempt in flight needs (pack_record), so millions of them stay small.
write_record(records_key, path, rec)
redis.call('HINCRBY', stats_key, 'commits', 1)
return cjson.encode({ ok = true, alreadyCommitted = false, record = rec })
