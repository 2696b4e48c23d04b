// The example plugin (examples/plugin) end to end on real servers, loaded through the config's `plugins`: its
// CSV processor on a 50k-row file whose worker process is SIGKILLed mid-file and resumes from the checkpoint, and
// its workflow processor run as a child workflow on the host queue (workDir not shared): approved by a signal
// → DONE; rejected by the reviewer → REJECTED; no decision in time → the attempt fails and the file is released.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/client';
import { processorWorkflowId } from '../src/shared/ids';
import { waitUntil } from './helpers/fault-run';
import { usePipeline } from './helpers/pipeline';
import { tempDir } from './helpers/servers';

const example = path.resolve(__dirname, '..', 'examples', 'plugin');
linkProduct(example);

const out = tempDir('ftp-ingest-plugin-out-');
const jsonlDir = path.join(out, 'jsonl');
const deliveredDir = path.join(out, 'delivered');
const ROWS = 50_000;
/** The review workflow's signal and query (examples/plugin/src/workflows.ts), by name. */
const DECISION = 'decision';
const STATUS = 'status';

const pipeline = usePipeline({
  plugins: [path.join(example, 'src', 'index.ts')],
  sharedWorkDir: false,
  sources: [
    // 300 ms per 1,000 rows: about 15 s for the file, time enough to kill its worker in the middle.
    { id: 'csv', processor: { name: 'csv-to-jsonl', options: { outDir: jsonlDir, delayPer1kRowsMs: 300 } } },
    { id: 'review', processor: { workflow: 'review', options: { outDir: deliveredDir, approvalTimeout: '5m' } } },
    { id: 'hurry', processor: { workflow: 'review', options: { outDir: deliveredDir, approvalTimeout: '2s' } } },
  ],
});

describe('the example plugin', () => {
  test('CSV → JSON lines: a worker SIGKILLed mid-file, the next one resumes from the checkpoint', async (t) => {
    pipeline.putRemote('csv', 'big.csv', csv(ROWS));
    const victim = await pipeline.spawnWorker('csv-victim');
    assert.equal((await pipeline.poll('csv')).claimed, 1);
    const claimed = await pipeline.waitForStatus('csv', 'big.csv', ['IN_PROGRESS']);
    await waitUntil(
      'a first checkpoint',
      async () => ((await checkpointRow(claimed.workflowId)) ?? 0) >= 10_000 || undefined,
      90_000,
    );

    // The rescuer is up before the kill: the process activity moves to it as soon as the heartbeat times out.
    const rescuer = await pipeline.spawnWorker('csv-rescuer');
    await waitUntil('the rescuer started', () => workerStarted('csv-rescuer') || undefined, 60_000);
    const rowAtKill = await waitUntil(
      'a checkpoint after the rescuer started',
      async () => {
        const row = (await checkpointRow(claimed.workflowId)) ?? 0;
        return row >= 20_000 ? row : undefined;
      },
      60_000,
      50,
    );
    victim.process.kill('SIGKILL');
    await victim.stop();

    const record = await pipeline.waitForStatus('csv', 'big.csv', ['DONE'], 120_000);
    await rescuer.stop();
    const result = JSON.parse(record.result ?? '{}') as { rows: number; resumedFromRow: number; rowsRun: number };
    t.diagnostic(`checkpoint at kill: row ${rowAtKill}; result ${JSON.stringify(result)}`);
    assert.equal(result.rows, ROWS);
    assert.ok(result.resumedFromRow >= rowAtKill, 'the rescuer resumed from the checkpoint');
    assert.ok(result.rowsRun < ROWS, `rows redone after the kill (${result.rowsRun}) < all rows (${ROWS})`);
    assert.equal(record.tries, 1, 'the same claim attempt finished the file');
    const lines = fs.readFileSync(path.join(jsonlDir, outputOf(record.result)), 'utf8');
    const rows = lines.trimEnd().split('\n');
    assert.equal(rows.length, ROWS, 'each row exactly once in the output');
    assert.equal((JSON.parse(rows[ROWS - 1]!) as { id: string }).id, String(ROWS));
  });

  test('workflow processor: approved by a signal → DONE, rejected → REJECTED, no decision → released', async () => {
    pipeline.putRemote('review', 'ok.csv', 'id,name\n1,ann\n2,bob\n');
    pipeline.putRemote('review', 'bad.csv', 'id,name\n1,eve\n');
    pipeline.putRemote('hurry', 'late.csv', 'id,name\n1,late\n');
    await pipeline.startWorker();
    assert.equal((await pipeline.poll('review')).claimed, 2);
    assert.equal((await pipeline.poll('hurry')).claimed, 1);

    const ok = await waitingForApproval('review', 'ok.csv');
    await ok.signal(DECISION, { approved: true, by: 'ann' });
    const bad = await waitingForApproval('review', 'bad.csv');
    await bad.signal(DECISION, { approved: false, by: 'bob', reason: 'unknown customer' });

    const done = await pipeline.waitForStatus('review', 'ok.csv', ['DONE'], 60_000);
    const result = JSON.parse(done.result ?? '{}') as { lines: number; approvedBy: string; delivered: string };
    assert.deepEqual({ lines: result.lines, approvedBy: result.approvedBy }, { lines: 3, approvedBy: 'ann' });
    assert.equal(fs.readFileSync(path.join(deliveredDir, result.delivered), 'utf8'), 'id,name\n1,ann\n2,bob\n');
    assert.equal(fs.readFileSync(pipeline.processed('review', 'ok.csv'), 'utf8'), 'id,name\n1,ann\n2,bob\n');

    const rejected = await pipeline.waitForStatus('review', 'bad.csv', ['REJECTED'], 60_000);
    assert.match(rejected.error ?? '', /rejected by bob: unknown customer/);
    assert.equal(rejected.tries, 1, 'rejected at once: a permanent failure takes no more tries');

    const released = await pipeline.waitForStatus('hurry', 'late.csv', ['RETRY_WAIT'], 60_000);
    assert.match(released.error ?? '', /no decision within 2s/);
    const ended = (await pipeline.fileResult(released)) as { outcome: string };
    assert.equal(ended.outcome, 'released', 'a timeout is not permanent: the file gets another attempt');
  });
});

/** The CSV processor's last checkpoint row, from the pending processFile activity's heartbeat details. */
async function checkpointRow(workflowId: string | undefined): Promise<number | undefined> {
  const { raw } = await pipeline.client.workflow.getHandle(workflowId ?? '').describe();
  const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'processFile');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<{ checkpoint?: { row: number } }>(payload).checkpoint?.row;
}

/** The review child workflow of a file, once it waits for the reviewer's decision. */
async function waitingForApproval(sourceId: string, name: string) {
  const record = await pipeline.waitForStatus(sourceId, name, ['IN_PROGRESS']);
  const child = pipeline.client.workflow.getHandle(processorWorkflowId(record.workflowId ?? ''));
  await waitUntil(
    `${name} waiting for approval`,
    async () => ((await child.query<{ stage: string }>(STATUS)).stage === 'waiting-for-approval' ? true : undefined),
    60_000,
  );
  return child;
}

function workerStarted(name: string): boolean {
  const log = path.join(pipeline.dataDir, `${name}.log`);
  return fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('worker started');
}

function outputOf(result: string | undefined): string {
  return (JSON.parse(result ?? '{}') as { output: string }).output;
}

function csv(rows: number): string {
  const lines = ['id,name,amount'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},customer ${i},${(i * 7) % 1000}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The example imports `ftp-ingest/...` as a package; `npm install` in examples/plugin links it to this checkout
 * (its devDependency `file:../..`). The same link, made here when missing, so the suite runs from a fresh clone.
 */
function linkProduct(dir: string): void {
  const link = path.join(dir, 'node_modules', 'ftp-ingest');
  if (fs.existsSync(path.join(link, 'package.json'))) return;
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.relative(path.dirname(link), path.resolve(dir, '..', '..')), link, 'dir');
}
