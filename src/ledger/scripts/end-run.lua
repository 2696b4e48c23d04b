-- end-run.lua: a run opened by begin-run.lua ended normally (with a result or an error it reported). That shows
-- the file does not kill its worker at this step every time: the step's count of runs in a row starts again.
-- KEYS[1] records hash, KEYS[2] runs hash. ARGV[1] path, ARGV[2] token, ARGV[3] step ('download' or 'process').
-- Returns JSON { ok } (false when the token no longer owns the record).
local records_key, runs_key, path, token = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local step = RUN_STEPS[ARGV[3]] or error('end-run: unknown step ' .. tostring(ARGV[3]))
local rec = read_record(records_key, path)
if rec.token ~= token or rec.status ~= 'IN_PROGRESS' then
  return cjson.encode({ ok = false })
end
local in_row = runs_in_row(runs_key, path, token)
in_row[step] = 0
set_runs_in_row(runs_key, path, token, in_row)
local open = tonumber(rec.openRuns or '0')
if open > 0 then
  rec.openRuns = open - 1
  write_record(records_key, path, rec)
end
return cjson.encode({ ok = true })
