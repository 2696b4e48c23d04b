-- forget.lua: retention. Finished records (DONE, REJECTED) of files that a poll no longer found on the server are
-- removed once they finished more than forgetAfterMs ago, with their path, due and stable-size entries. A file
-- still listed is never forgotten: its record is what keeps it from being processed again.
-- KEYS[1] paths set, KEYS[2] due zset, KEYS[3] seen hash, KEYS[3 + i] file hash of path i.
-- ARGV[1] forgetAfterMs, then the paths (candidates from the finished set, not in the poll's listing).
-- Returns JSON the number of records removed.
local paths_key, due_key, seen_key = KEYS[1], KEYS[2], KEYS[3]
local cutoff = now_ms() - tonumber(ARGV[1])
local finished_key = finished_key_of(due_key)
local forgotten = 0
for i = 4, #KEYS do
  local file_key, path = KEYS[i], ARGV[i - 2]
  local status = redis.call('HGET', file_key, 'status')
  local at = tonumber(redis.call('ZSCORE', finished_key, path) or '0')
  if (status == 'DONE' or status == 'REJECTED') and at > 0 and at <= cutoff then
    redis.call('DEL', file_key)
    redis.call('SREM', paths_key, path)
    redis.call('ZREM', finished_key, path)
    redis.call('ZREM', due_key, path)
    redis.call('HDEL', seen_key, path)
    forgotten = forgotten + 1
  elseif status ~= 'DONE' and status ~= 'REJECTED' then
    redis.call('ZREM', finished_key, path)
  end
end
return cjson.encode(forgotten)
