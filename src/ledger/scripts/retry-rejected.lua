-- retry-rejected.lua: operator action. REJECTED -> RETRY_WAIT due now with tries 0, so the next poll claims it
-- with a full budget of tries. The attempt number is kept: the next workflow id is still a new one.
-- KEYS[1] file hash. No ARGV.
-- Returns JSON { ok = true, record } or { ok = false, reason, record? }.
local file_key = KEYS[1]
local rec = read_record(file_key)

if rec.status == nil then
  return failure('missing', rec)
end
if rec.status ~= 'REJECTED' then
  return failure('not-rejected', rec)
end

redis.call('HSET', file_key, 'status', 'RETRY_WAIT', 'tries', 0, 'retryAt', now_ms())
return cjson.encode({ ok = true, record = read_record(file_key) })
