// Issue 7, items 7 and 11: nothing waits forever unseen. A file deleted on the server after its worker died
// mid-download, and a DONE file reprocessed after it left the server, both end REJECTED `vanished` (one dead
// letter) within a bound; a path whose workflow id would pass Temporal's 1,000 bytes is refused at listing.
// Only worker processes here (no worker in the test process): the workers are SIGKILLed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { LedgerRecord } from '../../src/ledger';
import { accountSource, sha256 } from '../helpers/faults';
import { keepPolling, spawnPoolWorker, waitUntil, type PoolWorker } from '../helpers/fault-run';
import { usePipeline } from '../helpers/pipeline';

const MiB = 1024 * 1024;
/** Short deadlines: every stuck case must end within seconds. */
const SHORT = { pollInterval: '1s', vanishAfter: '3s', processTimeout: '2s', maxCrashes: 2, heartbeatTimeout: '1s' };

const pipeline = usePipeline({
  // A 6 MiB download lasts about 6 s: long enough to kill its worker in the middle.
  throttleBytesPerSecond: MiB,
  sources: [
    { id: 'vanish', ...SHORT },
    { id: 'again', ...SHORT },
    // 5 nested folders of 200 characters: a workflow id over 1,000 bytes.
    { id: 'deep', ...SHORT, recursive: true, maxDepth: 8 },
  ],
});

let worker: PoolWorker | undefined;
/** A worker process up and polling (spawned when none is alive). */
async function aliveWorker(name: string): Promise<PoolWorker> {
  const child = worker?.child.process;
  if (!worker || child?.exitCode !== null || child.signalCode !== null) {
    worker = await spawnPoolWorker(pipeline, name);
    assert.ok((await worker.ready) >= 0, `${name} started`);
  }
  return worker;
}

const isUnfinished = (r: LedgerRecord): boolean => r.status === 'IN_PROGRESS' || r.status === 'RETRY_WAIT';

async function unfinished(sourceId: string): Promise<string[]> {
  const { records } = await pipeline.ledger.list(sourceId, { count: 1000 });
  return records.filter(isUnfinished).map((r) => `${r.path}:${r.status}`);
}

describe('stuck files end in a visible state with a reason, in bounded time', () => {
  test('item 7a: a file deleted after its worker died mid-download ends REJECTED vanished', async (t) => {
    const big = randomBytes(6 * MiB);
    pipeline.putRemote('vanish', 'big.bin', big);
    pipeline.putRemote('vanish', 'keep.csv', 'id\n1\n');
    const victim = await aliveWorker('vanish-victim');
    assert.equal((await pipeline.poll('vanish')).claimed, 2);

    const served = (): number => pipeline.ftp.served.perPath.get('/vanish/big.bin') ?? 0;
    await waitUntil('a quarter of big.bin sent', () => (served() >= big.length / 4 ? true : undefined), 60_000, 50);
    victim.child.process.kill('SIGKILL');
    await victim.child.stop();
    const killedAt = Date.now();
    const servedAtKill = served();
    fs.rmSync(pipeline.remote('vanish', 'big.bin'));

    await aliveWorker('vanish-rescuer');
    const polling = keepPolling(pipeline, 'vanish');
    t.after(() => polling.stop());
    const record = await pipeline.waitForStatus('vanish', 'big.bin', ['REJECTED'], 60_000);
    const seconds = (Date.now() - killedAt) / 1000;
    await polling.stop();

    const letters = await pipeline.ledger.deadLetters('vanish');
    t.diagnostic(
      `big.bin: killed after ${servedAtKill} of ${big.length} B; REJECTED ${seconds.toFixed(1)} s after the kill: ` +
        `tries=${record.tries} error=${JSON.stringify(record.error)}; polls ${JSON.stringify(polling.stats)}`,
    );
    assert.match(record.error ?? '', /^vanished: /);
    assert.ok(seconds < 45, `REJECTED within the bound (${seconds.toFixed(1)} s)`);
    assert.deepEqual(
      letters.map((l) => [l.path, l.error.split(':')[0]]),
      [['big.bin', 'vanished']],
    );
    assert.deepEqual(await unfinished('vanish'), [], 'nothing IN_PROGRESS or RETRY_WAIT');
    assert.equal(fs.existsSync(pipeline.processed('vanish', 'big.bin')), false, 'never published');
    const figures = await accountSource(pipeline, {
      scenario: 'stuck-vanished',
      sourceId: 'vanish',
      expected: new Map([['keep.csv', sha256('id\n1\n')]]),
    });
    t.diagnostic(
      `accounting (keep.csv): done=${figures.done} commits=${figures.commits} duplicates=${figures.duplicates} lost=${figures.lost}`,
    );
  });

  test('item 7b: reprocess of a DONE file no longer on the server ends REJECTED vanished', async (t) => {
    await aliveWorker('again-worker');
    pipeline.putRemote('again', 'old.csv', 'id\n2\n');
    assert.equal((await pipeline.poll('again')).claimed, 1);
    await pipeline.fileResult(await pipeline.waitForStatus('again', 'old.csv', ['DONE'], 30_000));
    fs.rmSync(pipeline.remote('again', 'old.csv'));

    // What `ftp-ingest reprocess again old.csv` does.
    const reprocessed = await pipeline.ledger.reprocess('again', 'old.csv');
    assert.equal(reprocessed.ok, true);
    assert.equal(reprocessed.record?.status, 'RETRY_WAIT');
    const startedAt = Date.now();
    const polling = keepPolling(pipeline, 'again');
    t.after(() => polling.stop());
    const record = await pipeline.waitForStatus('again', 'old.csv', ['REJECTED'], 30_000);
    const seconds = (Date.now() - startedAt) / 1000;
    await polling.stop();

    t.diagnostic(`old.csv: REJECTED ${seconds.toFixed(1)} s after reprocess: ${JSON.stringify(record.error)}`);
    assert.match(record.error ?? '', /^vanished: /);
    assert.equal(record.tries, 0, 'never claimed again: no try spent');
    assert.deepEqual(
      (await pipeline.ledger.deadLetters('again')).map((l) => [l.path, l.error.split(':')[0]]),
      [['old.csv', 'vanished']],
    );
    assert.deepEqual(await unfinished('again'), []);
  });

  test('item 11: a path whose workflow id would pass 1,000 bytes is REJECTED unsafe-name, the file beside it DONE', async (t) => {
    await aliveWorker('deep-worker');
    const dirs = Array.from({ length: 5 }, (_, i) => `${String(i)}${'d'.repeat(199)}`);
    const deep = [...dirs, 'deep.csv'].join('/');
    pipeline.putRemote('deep', deep, 'too deep\n');
    pipeline.putRemote('deep', 'beside/normal.csv', 'fine\n');

    const summary = await pipeline.poll('deep');
    t.diagnostic(`poll: ${JSON.stringify(summary)}; id of the deep path ${Buffer.byteLength(deep) + 30} B or more`);
    assert.equal(summary.claimed, 1, 'only the normal file is claimed');
    assert.equal(summary.rejected, 1);
    const normal = await pipeline.waitForStatus('deep', 'beside/normal.csv', ['DONE'], 30_000);
    await pipeline.fileResult(normal);

    const record = await pipeline.ledger.get('deep', deep);
    assert.equal(record?.status, 'REJECTED');
    assert.equal(record.error, 'unsafe-name: too long for a workflow id');
    assert.equal(record.tries, 0);
    assert.equal(record.token, undefined, 'never claimed');
    assert.deepEqual(
      (await pipeline.ledger.deadLetters('deep')).map((l) => l.path),
      [deep],
    );
    assert.equal((await pipeline.poll('deep')).rejected, 0, 'refused once: no second dead letter');
    assert.equal((await pipeline.ledger.deadLetters('deep')).length, 1);
    assert.equal(pipeline.ftp.served.perPath.get(`/deep/${deep}`), undefined, 'never downloaded');
    const { count } = await pipeline.client.workflow.count(`WorkflowType = "fileWorkflow" AND FtpSource = "deep"`);
    assert.equal(count, 1, "one file workflow in the source: the normal file's");
    assert.equal(fs.existsSync(path.join(pipeline.config.workDir, 'deep', dirs[0] as string)), false);
    const figures = await accountSource(pipeline, {
      scenario: 'stuck-id-too-long',
      sourceId: 'deep',
      expected: new Map([['beside/normal.csv', sha256('fine\n')]]),
    });
    t.diagnostic(`accounting: done=${figures.done} commits=${figures.commits} lost=${figures.lost}`);
  });
});
