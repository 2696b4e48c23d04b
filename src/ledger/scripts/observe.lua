-- observe.lua: remembers when each listed path was first seen with its current version (by any cluster) and
-- reports the paths whose version has stayed the same for at least stableMs of Redis time: a file still being
-- uploaded changes size. A time, not a count of listings: two clusters list moments apart.
-- KEYS[1] seen hash (path -> '<version>|<first seen ms>'). ARGV[1] stableMs, then path, version, path, version, ...
-- Returns JSON [stable paths].
local seen_key = KEYS[1]
local stable_ms = tonumber(ARGV[1])
local now = now_ms()
local stable = {}
for i = 2, #ARGV, 2 do
  local path, version = ARGV[i], ARGV[i + 1]
  local seen = redis.call('HGET', seen_key, path)
  local seen_version, since = nil, nil
  if seen then
    seen_version, since = string.match(seen, '^(.*)|(%d+)$')
  end
  if seen_version == version then
    if now - tonumber(since) >= stable_ms then
      stable[#stable + 1] = path
    end
  else
    redis.call('HSET', seen_key, path, version .. '|' .. now)
  end
end
if #stable == 0 then
  return '[]'
end
return cjson.encode(stable)
