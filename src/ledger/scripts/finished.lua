-- finished.lua: retention candidates. Looks at the next page of the source's records (an HSCAN whose cursor is
-- kept in Redis, so successive polls walk the whole ledger, then start over) and returns the paths that finished
-- (DONE or REJECTED) before now - forgetAfterMs; the poll checks them against its listing (forget.lua). Writes
-- only the cursor.
-- KEYS[1] records hash, KEYS[2] cursors hash. ARGV[1] forgetAfterMs, ARGV[2] records to look at (a COUNT hint).
-- Returns JSON [paths].
local records_key, cursors_key = KEYS[1], KEYS[2]
local cutoff = now_ms() - tonumber(ARGV[1])
local page = redis.call('HSCAN', records_key, redis.call('HGET', cursors_key, 'finished') or '0', 'COUNT',
  tonumber(ARGV[2]))
redis.call('HSET', cursors_key, 'finished', page[1])
local paths, flat = {}, page[2]
for i = 1, #flat, 2 do
  local code = string.byte(flat[i + 1], 1)
  if code == string.byte('D') or code == string.byte('R') then
    local rec = unpack_record(flat[i + 1])
    local at = tonumber(rec.doneAt or rec.rejectedAt or '0')
    if at > 0 and at <= cutoff then
      paths[#paths + 1] = flat[i]
    end
  end
end
if #paths == 0 then
  return '[]'
end
return cjson.encode(paths)
