// A worker process SIGKILLed mid-activity: another worker finishes the file, resuming where the dead one stopped.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/client';
import { waitUntil } from './helpers/fault-run';
import { usePipeline } from './helpers/pipeline';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const pipeline = usePipeline({
  // Slow enough that a download of the large file lasts a few seconds and can be interrupted.
  throttleBytesPerSecond: 8 * MiB,
  sources: [{ id: 'large' }, { id: 'slow', processor: { name: 'delay', options: { steps: 10, stepMs: 500 } } }],
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
});
