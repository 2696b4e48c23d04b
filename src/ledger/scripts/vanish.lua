-- vanish.lua: due paths that a poll did not find in its listing (deleted, renamed, or no longer wanted by the
-- source's filters). An unfinished claim (lease ended, or retry due) starts a clock at its first miss and is
-- REJECTED as 'vanished' (one dead letter) once missing for vanishAfterMs; a DONE record's owed remote action is
-- moot (the file is gone). Paths listed again stop the clock (claim.lua).
-- KEYS[1] inflight hash, KEYS[2] dead-letter stream, KEYS[3] due zset, KEYS[3 + i] file hash of path i.
-- ARGV[1] vanishAfterMs, then the paths.
-- Returns JSON { vanished = [paths], waiting = n }.
local inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3]
local vanish_after = tonumber(ARGV[1])
local now = now_ms()
local vanished, waiting = {}, 0

for i = 4, #KEYS do
  local file_key, path = KEYS[i], ARGV[i - 2]
  local rec = read_record(file_key)
  local status = rec.status
  local deadline = status == 'IN_PROGRESS' and tonumber(rec.leaseUntil or '0')
    or status == 'RETRY_WAIT' and tonumber(rec.retryAt or '0') or nil
  if status == nil or status == 'REJECTED' or (status == 'DONE' and rec.action ~= 'pending') then
    clear_due(due_key, path)
  elseif status == 'DONE' then
    redis.call('HSET', file_key, 'action', 'gone: the remote file was no longer listed')
    clear_due(due_key, path)
  elseif deadline > now then
    set_due(due_key, path, deadline) -- not due after all (renewed meanwhile)
  else
    local since = tonumber(rec.missingSince or now)
    if now - since >= vanish_after then
      reject_record(file_key, inflight_key, dlq_key, due_key, path, rec,
        'vanished: not listed for ' .. math.floor((now - since) / 1000) .. ' s')
      vanished[#vanished + 1] = path
    else
      redis.call('HSET', file_key, 'missingSince', since)
      set_due(due_key, path, since + vanish_after)
      waiting = waiting + 1
    end
  end
end
return cjson.encode({ vanished = vanished, waiting = waiting })
