-- action-done.lua: the remote action owed by a DONE version has run (or was found moot): records its outcome.
-- Fenced by version, not token: the committing workflow or any cluster's poll may finish it.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path, ARGV[2] version, ARGV[3] outcome text.
-- Returns JSON { ok } (false when the record moved on: another version, or already finished).
local records_key, due_key = KEYS[1], KEYS[2]
local path, version, outcome = ARGV[1], ARGV[2], ARGV[3]
local rec = read_record(records_key, path)
if rec.status ~= 'DONE' or rec.version ~= version or rec.action ~= 'pending' then
  return cjson.encode({ ok = false })
end
rec.action = outcome
write_record(records_key, path, rec)
clear_due(due_key, path)
return cjson.encode({ ok = true })
