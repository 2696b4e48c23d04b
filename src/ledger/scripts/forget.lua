-- forget.lua: retention. Finished records (DONE, REJECTED) of files that a poll no longer found on the server are
-- removed once they finished more than forgetAfterMs ago, with their due and stable-size entries. A file still
-- listed is never forgotten: its record is what keeps it from being processed again.
-- KEYS[1] records hash, KEYS[2] due zset, KEYS[3] seen hash.
-- ARGV[1] forgetAfterMs, then the paths (candidates from finished.lua, not in the poll's listing).
-- Returns JSON the number of records removed.
local records_key, due_key, seen_key = KEYS[1], KEYS[2], KEYS[3]
local cutoff = now_ms() - tonumber(ARGV[1])
local forgotten = 0
for i = 2, #ARGV do
  local path = ARGV[i]
  local rec = read_record(records_key, path)
  local at = tonumber(rec.doneAt or rec.rejectedAt or '0')
  if is_finished(rec.status) and at > 0 and at <= cutoff then
    redis.call('HDEL', records_key, path)
    redis.call('ZREM', due_key, path)
    redis.call('HDEL', seen_key, path)
    forgotten = forgotten + 1
  end
end
return cjson.encode(forgotten)
