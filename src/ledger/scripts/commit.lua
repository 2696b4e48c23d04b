-- commit.lua: the fenced commit. IN_PROGRESS with this token -> DONE; DONE with this token -> ok again
-- (a retried commit activity); anything else is reported and left as it is.
-- KEYS[1] file hash, KEYS[2] inflight hash, KEYS[3] stats hash (counts commits). ARGV[1] token, ARGV[2] result ('' for none).
-- Returns JSON { ok = true, alreadyCommitted, record } or { ok = false, reason, record? }.
local file_key, inflight_key, stats_key = KEYS[1], KEYS[2], KEYS[3]
local token, result = ARGV[1], ARGV[2]
local rec = read_record(file_key)

local verdict = fence(rec, token, { DONE = true })
if verdict == 'repeat' then
  return cjson.encode({ ok = true, alreadyCommitted = true, record = rec })
elseif verdict ~= 'act' then
  return verdict
end

rec.status, rec.doneAt = 'DONE', tostring(now_ms())
redis.call('HSET', file_key, 'status', 'DONE', 'doneAt', rec.doneAt)
if result ~= '' then
  rec.result = result
  redis.call('HSET', file_key, 'result', result)
end
add_inflight(inflight_key, rec.owner, -1)
redis.call('HINCRBY', stats_key, 'commits', 1)
return cjson.encode({ ok = true, alreadyCommitted = false, record = rec })
