-- release.lua: a claim gives up its attempt. IN_PROGRESS with this token -> RETRY_WAIT (due after retryDelayMs),
-- or REJECTED with one dead-letter entry once tries >= maxTries. Repeating it with the same token is a no-op
-- that reports the status reached.
-- KEYS[1] records hash, KEYS[2] inflight hash, KEYS[3] dead-letter stream, KEYS[4] due zset, KEYS[5] runs hash
-- (the attempt's run counts go with it).
-- ARGV[1] path, ARGV[2] token[@owner], ARGV[3] error, ARGV[4] retryDelayMs, ARGV[5] maxTries.
-- Returns JSON { ok = true, status, record } or { ok = false, reason, record? }.
local records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local path, error_text = ARGV[1], ARGV[3]
local token, owner = claim_of(ARGV[2])
local retry_delay_ms, max_tries = tonumber(ARGV[4]), tonumber(ARGV[5])
local rec = read_record(records_key, path)

local verdict = fence(rec, token, { RETRY_WAIT = true, REJECTED = true }, owner)
if verdict == 'repeat' then
  return cjson.encode({ ok = true, status = rec.status, record = rec })
elseif verdict ~= 'act' then
  return verdict
end

redis.call('HDEL', KEYS[5], path)
if tonumber(rec.tries or '0') >= max_tries then
  reject_record(records_key, inflight_key, dlq_key, due_key, path, rec, error_text)
else
  add_inflight(inflight_key, rec.owner, -1)
  rec.status, rec.error, rec.retryAt = 'RETRY_WAIT', error_text, tostring(now_ms() + retry_delay_ms)
  rec.openRuns = nil
  write_record(records_key, path, rec)
  set_due(due_key, path, tonumber(rec.retryAt))
end
return cjson.encode({ ok = true, status = rec.status, record = rec })
