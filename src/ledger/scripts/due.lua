-- due.lua: the paths whose deadline has passed (lease ended, retry time reached, remote action owed), oldest
-- first, for a poll to sweep. Reads only.
-- KEYS[1] due zset. ARGV[1] how many at most. Returns JSON [paths].
local paths = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
if #paths == 0 then
  return '[]'
end
return cjson.encode(paths)
