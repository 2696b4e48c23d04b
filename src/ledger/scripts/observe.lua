-- observe.lua: remembers the version each listed path had at the previous poll (of any cluster) and reports the
-- paths whose version is unchanged since then: a file still being uploaded changes size between polls.
-- KEYS[1] seen hash (path -> version). ARGV: path, version, path, version, ...
-- Returns JSON [stable paths].
local seen_key = KEYS[1]
local stable = {}
for i = 1, #ARGV, 2 do
  local path, version = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', seen_key, path) == version then
    stable[#stable + 1] = path
  else
    redis.call('HSET', seen_key, path, version)
  end
end
return cjson.encode(stable)
