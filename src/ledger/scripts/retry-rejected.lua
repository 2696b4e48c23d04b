-- retry-rejected.lua: operator action. REJECTED -> RETRY_WAIT due now with tries 0, so the next poll claims it
-- with a full budget of tries. The attempt number is kept: the next workflow id is still a new one.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path.
-- Returns JSON { ok = true, record } or { ok = false, reason, record? }.
local records_key, due_key, path = KEYS[1], KEYS[2], ARGV[1]
local rec = read_record(records_key, path)

if rec.status == nil then
  return failure('missing', rec)
end
if rec.status ~= 'REJECTED' then
  return failure('not-rejected', rec)
end

return cjson.encode({ ok = true, record = retry_now(records_key, due_key, path, rec) })
