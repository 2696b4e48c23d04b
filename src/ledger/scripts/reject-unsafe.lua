-- reject-unsafe.lua: records a remote name that may never be fetched (DESIGN.md §8) as REJECTED with tries 0
-- and one dead-letter entry, without a claim. Seeing the same version again changes nothing, so a name that
-- stays on the server is dead-lettered once, not on every poll.
-- KEYS[1] file hash, KEYS[2] paths set, KEYS[3] inflight hash, KEYS[4] dead-letter stream, KEYS[5] due zset.
-- ARGV[1] path, ARGV[2] version, ARGV[3] mtimeMs ('' if unknown), ARGV[4] size ('' if unknown), ARGV[5] error.
-- Returns JSON { recorded, record }.
local file_key, paths_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local path, version, mtime_ms, size, error_text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local rec = read_record(file_key)

if rec.version == version and (rec.status == 'REJECTED' or rec.status == 'DONE') then
  return cjson.encode({ recorded = false, record = rec })
end
if rec.status == 'IN_PROGRESS' then
  add_inflight(inflight_key, rec.owner, -1)
end

-- A fresh record: no token, so no earlier attempt can act on it any more.
redis.call('DEL', file_key)
redis.call('HSET', file_key, 'version', version, 'status', 'REJECTED', 'tries', 0, 'error', error_text)
if mtime_ms ~= '' then
  redis.call('HSET', file_key, 'mtimeMs', mtime_ms, 'size', size)
end
redis.call('SADD', paths_key, path)
clear_due(due_key, path)
set_finished(due_key, path, now_ms())
rec = read_record(file_key)
push_dead_letter(dlq_key, path, rec)
return cjson.encode({ recorded = true, record = rec })
