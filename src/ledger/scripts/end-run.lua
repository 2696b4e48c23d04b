-- end-run.lua: a run opened by begin-run.lua ended normally (with a result or an error it reported).
-- KEYS[1] records hash. ARGV[1] path, ARGV[2] token. Returns JSON { ok } (false when the token no longer owns the
-- record).
local records_key, path, token = KEYS[1], ARGV[1], ARGV[2]
local rec = read_record(records_key, path)
if rec.token ~= token or rec.status ~= 'IN_PROGRESS' then
  return cjson.encode({ ok = false })
end
local open = tonumber(rec.openRuns or '0')
if open > 0 then
  rec.openRuns = open - 1
  write_record(records_key, path, rec)
end
return cjson.encode({ ok = true })
