-- reprocess.lua: operator `--reprocess`, the only way to run a finished version again (DESIGN.md §3).
-- DONE or REJECTED -> RETRY_WAIT due now with tries 0; the attempt number is kept so the next workflow id is new.
-- KEYS[1] file hash, KEYS[2] due zset. ARGV[1] path.
-- Returns JSON { ok = true, record } or { ok = false, reason, record? }.
local file_key, due_key, path = KEYS[1], KEYS[2], ARGV[1]
local rec = read_record(file_key)

if rec.status == nil then
  return failure('missing', rec)
end
if rec.status ~= 'DONE' and rec.status ~= 'REJECTED' then
  return failure('not-finished', rec)
end

redis.call('HDEL', file_key, 'doneAt', 'result', 'error')
return cjson.encode({ ok = true, record = retry_now(file_key, due_key, path) })
