-- reprocess.lua: operator `--reprocess`, the only way to run a finished version again (DESIGN.md §3).
-- DONE or REJECTED -> RETRY_WAIT due now with tries 0; the attempt number is kept so the next workflow id is new.
-- KEYS[1] records hash, KEYS[2] due zset. ARGV[1] path.
-- Returns JSON { ok = true, record } or { ok = false, reason, record? }.
local records_key, due_key, path = KEYS[1], KEYS[2], ARGV[1]
local rec = read_record(records_key, path)

if rec.status == nil then
  return failure('missing', rec)
end
if rec.status ~= 'DONE' and rec.status ~= 'REJECTED' then
  return failure('not-finished', rec)
end

rec.result, rec.error = nil, nil
return cjson.encode({ ok = true, record = retry_now(records_key, due_key, path, rec) })
