-- begin-run.lua: a run of a long step (download, process) of a claim starts: renews the lease like renew.lua and
-- counts the run as open until end-run.lua closes it. Runs of the same step begun since its last normal end ended
-- without a word: their worker died or hung. At maxCrashes of them in a row the attempt stops ('crash-loop'), so a
-- file that kills its worker every time ends REJECTED instead of looping forever, while a healthy file whose
-- workers are killed for other reasons (a host lost, a deploy, a kill storm) starts the count again at each run
-- that ends. Counted per step: the small-file fast path downloads again (and ends that run) before each process
-- run, which must not hide a processor that kills its worker. `openRuns` (all steps, begun minus ended) stays as
-- the scripts of earlier releases keep it: none means the attempt never began a run.
-- KEYS[1] records hash, KEYS[2] due zset, KEYS[3] runs hash. ARGV[1] path, ARGV[2] token[@owner], ARGV[3] leaseMs,
-- ARGV[4] maxCrashes, ARGV[5] step ('download' or 'process').
-- Returns JSON { ok = true, leaseUntil, crashes } or { ok = false, reason ('crash-loop' or a fence reason), ... }.
local records_key, due_key, runs_key = KEYS[1], KEYS[2], KEYS[3]
local path, lease_ms, max_crashes = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local token, owner = claim_of(ARGV[2])
local step = RUN_STEPS[ARGV[5]] or error('begin-run: unknown step ' .. tostring(ARGV[5]))
local rec = read_record(records_key, path)

local verdict = fence(rec, token, {}, owner)
if verdict ~= 'act' then
  return verdict
end

local in_row = runs_in_row(runs_key, path, token)
local crashes = in_row[step]
if crashes >= max_crashes then
  return cjson.encode({ ok = false, reason = 'crash-loop', crashes = crashes, record = rec })
end
local lease_until = now_ms() + lease_ms
in_row[step] = crashes + 1
set_runs_in_row(runs_key, path, token, in_row)
rec.leaseUntil, rec.openRuns = lease_until, tonumber(rec.openRuns or '0') + 1
write_record(records_key, path, rec)
set_due(due_key, path, lease_until)
return cjson.encode({ ok = true, leaseUntil = lease_until, crashes = crashes })
