// A worker process SIGKILLed mid-activity: another worker finishes the file, resuming where the dead one stopped.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/client';
import { waitUntil } from './helpers/fault-run';
import { historyShape } from './helpers/history';
import { publishedPaths } from './helpers/published';
import { usePipeline } from './helpers/pipeline';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const pipeline = usePipeline({
  // Slow enough that a download of the large file lasts a few seconds and can be interrupted.
  throttleBytesPerSecond: 8 * MiB,
  sources: [
    { id: 'large' },
    { id: 'slow', processor: { name: 'delay', options: { steps: 10, stepMs: 500 } } },
    // The small-file fast path; maxCrashes 2: the killed run may count once, a clean re-run must not count at all.
    {
      id: 'fast',
      smallFileMaxBytes: 1_024,
      maxCrashes: 2,
      processor: { name: 'delay', options: { steps: 10, stepMs: 400 } },
    },
  ],
});

describe('crash recovery with real worker processes', () => {
  test('SIGKILL during download: another worker resumes at the byte offset', async (t) => {
    const content = randomBytes(24 * MiB);
    pipeline.putRemote('large', 'large.bin', content);
    const servedOf = (): number => pipeline.ftp.served.perPath.get('/large/large.bin') ?? 0;

    const first = await pipeline.spawnWorker('download-victim');
    assert.equal((await pipeline.poll('large')).claimed, 1);
    await waitUntil(
      'a third of the file sent',
      () => (servedOf() >= content.length / 3 ? true : undefined),
      60_000,
      50,
    );
    first.process.kill('SIGKILL');
    await first.stop();
    const servedAtKill = servedOf();

    const second = await pipeline.spawnWorker('download-rescuer');
    const record = await pipeline.waitForStatus('large', 'large.bin', ['DONE'], 90_000);
    await pipeline.fileResult(record);
    await second.stop();

    const refetched = servedOf() - servedAtKill;
    t.diagnostic(`file ${content.length} B; sent before kill ${servedAtKill} B; sent after kill ${refetched} B`);
    assert.ok(
      refetched < content.length,
      `after the crash only the rest is fetched (${refetched} < ${content.length})`,
    );
    assert.ok(refetched >= content.length - servedAtKill, 'and nothing is skipped');
    assert.equal(sha256(fs.readFileSync(pipeline.processed('large', 'large.bin'))), sha256(content));
    assert.equal(record.tries, 1, 'the same claim attempt finished the file');
  });

  test('SIGKILL during the delay processor: the resumed run starts from the checkpoint', async (t) => {
    pipeline.putRemote('slow', 'steps.txt', 'ten steps\n');
    const first = await pipeline.spawnWorker('process-victim');
    assert.equal((await pipeline.poll('slow')).claimed, 1);
    const claimed = await pipeline.waitForStatus('slow', 'steps.txt', ['IN_PROGRESS']);
    const handle = pipeline.client.workflow.getHandle(claimed.workflowId ?? '');
    const checkpointAtKill = await waitUntil(
      'checkpoint at step 4',
      async () => {
        const { raw } = await handle.describe();
        const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'processFile');
        const payload = pending?.heartbeatDetails?.payloads?.[0];
        const details = payload
          ? defaultPayloadConverter.fromPayload<{ checkpoint?: { step: number } }>(payload)
          : undefined;
        const step = details?.checkpoint?.step ?? 0;
        return step >= 4 ? step : undefined;
      },
      60_000,
      50,
    );
    first.process.kill('SIGKILL');
    await first.stop();

    const second = await pipeline.spawnWorker('process-rescuer');
    const record = await pipeline.waitForStatus('slow', 'steps.txt', ['DONE'], 90_000);
    await second.stop();
    const result = JSON.parse(record.result ?? '{}') as { resumedFromStep: number; stepsRun: number; steps: number };
    t.diagnostic(
      `checkpoint seen at kill: step ${checkpointAtKill}; resumed from step ${result.resumedFromStep}; steps redone ${result.stepsRun} of ${result.steps}`,
    );
    assert.ok(result.resumedFromStep >= checkpointAtKill, 'resumed from the last checkpoint, not from step 0');
    assert.equal(result.stepsRun, result.steps - result.resumedFromStep);
    assert.equal(record.tries, 1);
  });

  test('SIGKILL inside the fast path: another worker runs the local activity again; each file DONE once', async (t) => {
    const names = Array.from({ length: 6 }, (_, i) => `fast-${i}.txt`);
    for (const name of names) pipeline.putRemote('fast', name, `small file ${name}\n`);
    const first = await pipeline.spawnWorker('fast-victim');
    assert.equal((await pipeline.poll('fast')).claimed, names.length);
    // Every file's local activity has begun a run (download, then the 4 s processor): kill inside it.
    await waitUntil(
      'all runs open',
      async () => {
        const records = await Promise.all(names.map((name) => pipeline.ledger.get('fast', name)));
        return records.every((r) => r?.status === 'IN_PROGRESS' && (r.openRuns ?? 0) >= 1) ? true : undefined;
      },
      60_000,
      50,
    );
    first.process.kill('SIGKILL');
    await first.stop();
    const inFlight = await Promise.all(names.map((name) => pipeline.ledger.get('fast', name)));
    const killedInside = inFlight.filter((r) => r?.status === 'IN_PROGRESS').length;
    assert.ok(killedInside > 0, 'the kill landed while fast-path files were in flight');

    const second = await pipeline.spawnWorker('fast-rescuer');
    // A poll meanwhile renews the leases of the running workflows (they wait for their workflow task to time out).
    await sleep(50); // the lease is in ms of Redis time: let it move on from the last renewal
    assert.equal((await pipeline.poll('fast')).claimed, 0, 'no file is claimed again while its workflow runs');
    for (const [i, before] of inFlight.entries()) {
      if (before?.status !== 'IN_PROGRESS') continue;
      const after = await pipeline.ledger.get('fast', names[i]!);
      if (after?.status !== 'IN_PROGRESS') continue; // already finished by the rescuer
      assert.ok((after.leaseUntil ?? 0) > (before.leaseUntil ?? 0), `${names[i]}: the poll renewed its lease`);
    }
    const records = await Promise.all(names.map((name) => pipeline.waitForStatus('fast', name, ['DONE'], 120_000)));
    await second.stop();

    let retaken = 0;
    for (const [i, record] of records.entries()) {
      assert.equal(record.tries, 1, `${record.path}: the same attempt finished it (no crash-loop, no new claim)`);
      assert.match(record.result ?? '', /"steps":10/);
      assert.match(record.result ?? '', /"resumedFromStep":0/, 'a local activity has no checkpoint: it starts over');
      assert.equal(((await pipeline.fileResult(record)) as { outcome: string }).outcome, 'done');
      const shape = await historyShape(pipeline.client, record.workflowId ?? '');
      assert.deepEqual(shape.activities, [], 'no activity task');
      assert.equal(shape.localActivities.filter((a) => a === 'downloadProcessPublish').length, 1);
      assert.equal(shape.localActivities.filter((a) => a === 'commitFile').length, 1, 'committed once');
      if (inFlight[i]?.status === 'IN_PROGRESS') {
        assert.ok(shape.workflowTaskTimeouts >= 1, `${record.path}: its workflow task timed out with the worker`);
        retaken++;
      }
    }
    t.diagnostic(`${killedInside} of ${names.length} files in flight at the kill; ${retaken} finished by the rescuer`);
    assert.deepEqual(publishedPaths(pipeline.processed('fast', '')).sort(), [...names].sort(), 'one output each');
    assert.equal((await pipeline.ledger.counts('fast')).DONE, names.length);
  });
});
