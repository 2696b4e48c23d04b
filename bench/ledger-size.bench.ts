// `npm run bench:ledger [-- --records N]`: Redis memory per finished ledger record, and the cost of a steady poll
// over them (every listed file already DONE), on a real redis-server. Not a test: it prints figures.
//   ledger: records=… bytes_per_record=… steady_poll_s=… candidates_per_s=…
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Ledger } from '../src/ledger';
import { fileVersion, fileWorkflowIdBase } from '../src/shared/ids';
import { startRedisServer } from '../src/stack/redis';

const argRecords = process.argv.indexOf('--records');
const RECORDS = argRecords > 0 ? Number(process.argv[argRecords + 1]) : 1_000_000;
const SOURCE = 'bench';
const BATCH = 1_000;

// Writes finished records exactly as a commit leaves them (fields, paths set, finished set), many per call.
const FILL = `
local prefix, first, count, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = first, first + count - 1 do
  local path = 'in/2024-01-' .. (i % 28 + 1) .. '/file-' .. i .. '.csv'
  local version = '1700000000000-' .. (1000 + i % 5000)
  local key = prefix .. ':file:' .. path
  redis.call('HSET', key, 'version', version, 'mtimeMs', '1700000000000', 'size', tostring(1000 + i % 5000),
    'status', 'DONE', 'tries', '1', 'attempt', '1', 'token', tostring(i), 'owner', 'cluster-a',
    'lastTryAt', now, 'workflowId', 'ftp/bench/' .. path .. '@' .. version .. '#1', 'doneAt', now,
    'result', '{"sha256":"' .. string.rep('a', 64) .. '","bytes":1234,"lines":12}')
  redis.call('SADD', prefix .. ':paths', path)
  redis.call('ZADD', prefix .. ':due:finished', now, path)
end
return count
`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-ledger-bench-'));
  const server = await startRedisServer(dir);
  const redis = new Redis(server.url);
  try {
    const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const before = await used();
    const prefix = `ftpi:{${SOURCE}}`;
    const started = performance.now();
    for (let first = 0; first < RECORDS; first += 10_000) {
      await redis.eval(FILL, 0, prefix, first, Math.min(10_000, RECORDS - first), Date.now());
    }
    const fillS = (performance.now() - started) / 1000;
    const perRecord = Math.round(((await used()) - before) / RECORDS);
    const ledger = new Ledger(redis);
    const sampled = (await ledger.size(SOURCE)).bytesPerRecord;

    // A steady poll: the whole listing is claimed again in batches; everything is DONE, nothing is taken.
    const pollStarted = performance.now();
    let skipped = 0;
    for (let first = 0; first < RECORDS; first += BATCH) {
      const candidates = Array.from({ length: Math.min(BATCH, RECORDS - first) }, (_, k) => {
        const i = first + k;
        return {
          path: `in/2024-01-${(i % 28) + 1}/file-${i}.csv`,
          mtimeMs: 1_700_000_000_000,
          size: 1000 + (i % 5000),
        };
      });
      const result = await ledger.claimBatch(SOURCE, candidates, {
        clusterId: 'cluster-a',
        pollRun: 'steady',
        leaseMs: 60_000,
        maxTries: 3,
        maxAcceptPerPoll: 100,
        maxInFlight: 1_000,
        versionPolicy: 'reprocess',
        attemptLabelBase: fileWorkflowIdBase,
      });
      skipped += result.skipped.done ?? 0;
    }
    const pollS = (performance.now() - pollStarted) / 1000;
    const retentionStarted = performance.now();
    const candidates = await ledger.finishedBefore(SOURCE, 0, 1_000);
    const retentionMs = Math.round(performance.now() - retentionStarted);

    console.log(`fill: ${RECORDS} finished records in ${fillS.toFixed(1)} s (version ${fileVersion(1, 1)} format)`);
    console.log(`memory: ${perRecord} B per record (INFO used_memory delta, with paths and finished sets);`);
    console.log(`        ${sampled} B per record hash alone (MEMORY USAGE of a sample); target < 300 B`);
    console.log(`steady poll: ${RECORDS} listed, all DONE (${skipped} skipped as done) in ${pollS.toFixed(1)} s`);
    console.log(`retention: finished candidates (${candidates.length}) read in ${retentionMs} ms per poll`);
    console.log(
      `ledger: records=${RECORDS} bytes_per_record=${perRecord} steady_poll_s=${pollS.toFixed(2)} ` +
        `candidates_per_s=${Math.round(RECORDS / pollS)}`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
