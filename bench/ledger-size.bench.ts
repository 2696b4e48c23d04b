// `npm run bench:ledger [-- --records N]`: Redis memory per finished ledger record, and the cost of a steady poll
// over them (every listed file already DONE), on a real redis-server. Not a test: it prints figures.
//   ledger: records=… bytes_per_record=… steady_poll_s=… candidates_per_s=…
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Ledger } from '../src/ledger';
import { fileVersion } from '../src/shared/ids';
import { startRedisServer } from '../src/stack/redis';

const argRecords = process.argv.indexOf('--records');
const RECORDS = argRecords > 0 ? Number(process.argv[argRecords + 1]) : 1_000_000;
const SOURCE = 'bench';
const BATCH = 1_000;

const RESULT = `{"sha256":"${'a'.repeat(64)}","bytes":1234,"lines":12}`;
const pathOf = (i: number): string => `in/2024-01-${(i % 28) + 1}/file-${i}.csv`;
const sizeOf = (i: number): number => 1000 + (i % 5000);

// Writes finished records exactly as a commit leaves them, many per call: the packed value of a record that a
// real claim and commit left (TEMPLATE), with each record's own version and token in place ('|' separates the
// packed fields: status, version, tries, attempt, token, ...; see record.ts).
const FILL = `
local records_key, first, count, template = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local head, token_field, tail = string.match(template, '^(D|)[^|]*(|[^|]*|[^|]*|)[^|]*(|.*)$')
local args = {}
for i = first, first + count - 1 do
  args[#args + 1] = 'in/2024-01-' .. (i % 28 + 1) .. '/file-' .. i .. '.csv'
  args[#args + 1] = head .. '1700000000000-' .. (1000 + i % 5000) .. token_field .. i .. tail
end
redis.call('HSET', records_key, unpack(args))
return count
`;

/** The packed record a real claim and commit leave (the bench's result, the cluster 'cluster-a'). */
async function committedTemplate(redis: Redis, ledger: Ledger): Promise<string> {
  const source = 'template';
  const candidate = { path: pathOf(0), mtimeMs: 1_700_000_000_000, size: sizeOf(0) };
  const { claims } = await ledger.claimBatch(source, [candidate], {
    clusterId: 'cluster-a',
    pollRun: 'fill',
    leaseMs: 60_000,
    maxTries: 3,
    maxAcceptPerPoll: 1,
    maxInFlight: 1,
    versionPolicy: 'reprocess',
  });
  await ledger.commit(source, candidate.path, claims[0]!.token, RESULT);
  const [, recordsKey = ''] = ledger.keys(source);
  const template = await redis.hget(recordsKey, candidate.path);
  if (!template) throw new Error('bench: the template commit left no record');
  for (const key of ledger.keys(source)) await redis.del(key);
  return template;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-ledger-bench-'));
  const server = await startRedisServer(dir);
  const redis = new Redis(server.url);
  try {
    const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const ledger = new Ledger(redis);
    const template = await committedTemplate(redis, ledger);
    const before = await used();
    const [, recordsKey = ''] = ledger.keys(SOURCE);
    const started = performance.now();
    for (let first = 0; first < RECORDS; first += 1_000) {
      await redis.eval(FILL, 1, recordsKey, first, Math.min(1_000, RECORDS - first), template);
    }
    const fillS = (performance.now() - started) / 1000;
    const perRecord = Math.round(((await used()) - before) / RECORDS);
    const sample = await ledger.get(SOURCE, pathOf(RECORDS - 1));
    if (sample?.status !== 'DONE' || sample.result !== RESULT || sample.size !== sizeOf(RECORDS - 1)) {
      throw new Error(`bench: a filled record does not read back as committed: ${JSON.stringify(sample)}`);
    }
    const sampled = (await ledger.size(SOURCE)).bytesPerRecord;

    // A steady poll: the whole listing is claimed again in batches; everything is DONE, nothing is taken.
    const pollStarted = performance.now();
    let skipped = 0;
    for (let first = 0; first < RECORDS; first += BATCH) {
      const candidates = Array.from({ length: Math.min(BATCH, RECORDS - first) }, (_, k) => {
        const i = first + k;
        return { path: pathOf(i), mtimeMs: 1_700_000_000_000, size: sizeOf(i) };
      });
      const result = await ledger.claimBatch(SOURCE, candidates, {
        clusterId: 'cluster-a',
        pollRun: 'steady',
        leaseMs: 60_000,
        maxTries: 3,
        maxAcceptPerPoll: 100,
        maxInFlight: 1_000,
        versionPolicy: 'reprocess',
      });
      skipped += result.skipped.done ?? 0;
    }
    const pollS = (performance.now() - pollStarted) / 1000;
    const retentionStarted = performance.now();
    const candidates = await ledger.finishedBefore(SOURCE, 0, 1_000);
    const retentionMs = Math.round(performance.now() - retentionStarted);

    console.log(`fill: ${RECORDS} finished records in ${fillS.toFixed(1)} s (version ${fileVersion(1, 1)} format)`);
    console.log(`memory: ${perRecord} B per record (INFO used_memory delta); target < 300 B`);
    console.log(`        ${sampled} B per record (MEMORY USAGE of the records hash, sampled, / records)`);
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
