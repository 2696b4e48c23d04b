-- end-run.lua: a run opened by begin-run.lua ended normally (with a result or an error it reported).
-- KEYS[1] file hash. ARGV[1] token. Returns JSON { ok } (false when the token no longer owns the record).
local file_key, token = KEYS[1], ARGV[1]
local rec = read_record(file_key)
if rec.token ~= token or rec.status ~= 'IN_PROGRESS' then
  return cjson.encode({ ok = false })
end
local open = tonumber(rec.openRuns or '0')
if open > 0 then
  redis.call('HSET', file_key, 'openRuns', open - 1)
end
return cjson.encode({ ok = true })
