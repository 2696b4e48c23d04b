-- vanish.lua: due paths that a poll did not find in its listing (deleted, renamed, or no longer wanted by the
-- source's filters). An unfinished claim (lease ended, or retry due) starts a clock at its first miss and is
-- REJECTED as 'vanished' (one dead letter) once missing for vanishAfterMs; a DONE record's owed remote action is
-- moot (the file is gone). Paths listed again stop the clock (claim.lua).
-- KEYS[1] records hash, KEYS[2] inflight hash, KEYS[3] dead-letter stream, KEYS[4] due zset.
-- ARGV[1] vanishAfterMs, then the paths.
-- Returns JSON { vanished = [paths], waiting = n }.
local records_key, inflight_key, dlq_key, due_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local vanish_after = tonumber(ARGV[1])
local now = now_ms()
local vanished, waiting = {}, 0

for i = 2, #ARGV do
  local path = ARGV[i]
  local rec = read_record(records_key, path)
  local status = rec.status
  local deadline = status == 'IN_PROGRESS' and tonumber(rec.leaseUntil or '0')
    or status == 'RETRY_WAIT' and tonumber(rec.retryAt or '0') or nil
  if status == nil or status == 'REJECTED' or (status == 'DONE' and rec.action ~= 'pending') then
    clear_due(due_key, path)
  elseif status == 'DONE' then
    rec.action = 'gone: the remote file was no longer listed'
    write_record(records_key, path, rec)
    clear_due(due_key, path)
  elseif deadline > now then
    set_due(due_key, path, deadline) -- not due after all (renewed meanwhile)
  else
    local since = tonumber(rec.missingSince or now)
    if now - since >= vanish_after then
      reject_record(records_key, inflight_key, dlq_key, due_key, path, rec,
        'vanished: not listed for ' .. math.floor((now - since) / 1000) .. ' s')
      vanished[#vanished + 1] = path
    else
      rec.missingSince = since
      write_record(records_key, path, rec)
      set_due(due_key, path, since + vanish_after)
      waiting = waiting + 1
    end
  end
end
return cjson.encode({ vanished = vanished, waiting = waiting })
