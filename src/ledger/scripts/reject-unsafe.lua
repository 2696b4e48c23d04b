-- reject-unsafe.lua: records a remote name that may never be fetched (DESIGN.md §8) as REJECTED with tries 0
-- and one dead-letter entry, without a claim. Seeing the same version again changes nothing, so a name that
-- stays on the server is dead-lettered once, not on every poll.
-- KEYS[1] records hash, KEYS[2] inflight hash, KEYS[3] dead-letter stream, KEYS[4] due zset.
-- ARGV[1] path, ARGV[2] version, ARGV[3] error.
-- Returns JSON { recorded, record }.
local records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local path, version, error_text = ARGV[1], ARGV[2], ARGV[3]
local rec = read_record(records_key, path)

if rec.version == version and (rec.status == 'REJECTED' or rec.status == 'DONE') then
  return cjson.encode({ recorded = false, record = rec })
end
if rec.status == 'IN_PROGRESS' then
  add_inflight(inflight_key, rec.owner, -1)
end

-- A fresh record: no token, so no earlier attempt can act on it any more.
rec = { version = version, status = 'REJECTED', tries = 0, error = error_text, rejectedAt = now_ms() }
write_record(records_key, path, rec)
clear_due(due_key, path)
push_dead_letter(dlq_key, path, rec)
return cjson.encode({ recorded = true, record = rec })
