-- finished.lua: paths that finished (DONE or REJECTED) before now - forgetAfterMs, oldest first: the candidates
-- a poll checks against its listing for retention (forget.lua). Reads only.
-- KEYS[1] due zset (the finished set is derived from it). ARGV[1] forgetAfterMs, ARGV[2] how many at most.
-- Returns JSON [paths].
local paths = redis.call('ZRANGEBYSCORE', finished_key_of(KEYS[1]), '-inf', now_ms() - tonumber(ARGV[1]), 'LIMIT', 0,
  tonumber(ARGV[2]))
if #paths == 0 then
  return '[]'
end
return cjson.encode(paths)
