-- observe.lua: remembers when each listed path was first seen with its current version (by any cluster) and
-- reports the paths whose version has stayed the same for at least stableMs of Redis time: a file still being
-- uploaded changes size. A time, not a count of listings: two clusters list moments apart.
-- It also trims the seen hash, one page per call (an HSCAN whose cursor is kept in Redis): a path this listing
-- did not give, first seen more than keepMs ago, is gone from the server (or no longer wanted), and would
-- otherwise be remembered for ever. Were it listed again, its clock starts anew, which only waits, never takes a
-- file early. keepMs outlasts stableMs: another cluster's listing may give paths this one does not (other
-- filters, a listing cut short), and trimming them at once would restart their clocks at each of its polls, so
-- that they never became stable for that cluster.
-- KEYS[1] seen hash (path -> '<version>|<first seen ms>'), KEYS[2] cursors hash.
-- ARGV[1] stableMs, ARGV[2] seen entries to look at for trimming (a COUNT hint), ARGV[3] keepMs, then path,
-- version, ...
-- Returns JSON [stable paths].
local seen_key, cursors_key = KEYS[1], KEYS[2]
local stable_ms, trim_count, keep_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local FIRST = 4
local CHUNK = 2000
local now = now_ms()
local stable, listed, paths = {}, {}, {}
for i = FIRST, #ARGV, 2 do
  paths[#paths + 1] = ARGV[i]
  listed[ARGV[i]] = true
end

local changed = {}
for first = 1, #paths, CHUNK do
  local last = math.min(first + CHUNK - 1, #paths)
  local seen = redis.call('HMGET', seen_key, unpack(paths, first, last))
  for k = 1, #seen do
    local n = first + k - 1
    local path, version = paths[n], ARGV[FIRST + 2 * (n - 1) + 1]
    local seen_version, since = nil, nil
    if seen[k] then
      seen_version, since = string.match(seen[k], '^(.*)|(%d+)$')
    end
    if seen_version == version then
      if now - tonumber(since) >= stable_ms then
        stable[#stable + 1] = path
      end
    else
      changed[#changed + 1] = path
      changed[#changed + 1] = version .. '|' .. now
    end
  end
end
for first = 1, #changed, CHUNK do
  redis.call('HSET', seen_key, unpack(changed, first, math.min(first + CHUNK - 1, #changed)))
end

local page = redis.call('HSCAN', seen_key, redis.call('HGET', cursors_key, 'seen') or '0', 'COUNT', trim_count)
redis.call('HSET', cursors_key, 'seen', page[1])
local gone = {}
for i = 1, #page[2], 2 do
  local since = tonumber(string.match(page[2][i + 1], '|(%d+)$')) or 0
  if not listed[page[2][i]] and now - since >= keep_ms then
    gone[#gone + 1] = page[2][i]
  end
end
for first = 1, #gone, CHUNK do
  redis.call('HDEL', seen_key, unpack(gone, first, math.min(first + CHUNK - 1, #gone)))
end

if #stable == 0 then
  return '[]'
end
return cjson.encode(stable)
