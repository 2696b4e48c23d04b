-- reject.lua: a claim fails for good (input no retry can fix). IN_PROGRESS with this token -> REJECTED with one
-- dead-letter entry; repeating it with the same token is a no-op.
-- KEYS[1] records hash, KEYS[2] inflight hash, KEYS[3] dead-letter stream, KEYS[4] due zset, KEYS[5] runs hash
-- (the attempt's run counts go with it).
-- ARGV[1] path, ARGV[2] token[@owner], ARGV[3] error.
-- Returns JSON { ok = true, status = 'REJECTED', record } or { ok = false, reason, record? }.
local records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local path, error_text = ARGV[1], ARGV[3]
local token, owner = claim_of(ARGV[2])
local rec = read_record(records_key, path)

local verdict = fence(rec, token, { REJECTED = true }, owner)
if verdict == 'act' then
  redis.call('HDEL', KEYS[5], path)
  reject_record(records_key, inflight_key, dlq_key, due_key, path, rec, error_text)
elseif verdict ~= 'repeat' then
  return verdict
end
return cjson.encode({ ok = true, status = rec.status, record = rec })
