// The review workflow processor end to end, on real servers (Temporal dev server, Redis, an FTP server) started
// by ftp-ingest's test helpers: a file waits for the reviewer's decision signal, then is delivered and committed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { processorWorkflowId, usePipeline, waitUntil } from 'ftp-ingest/testing';
import { decisionSignal, statusQuery } from '../src/workflows';

const deliveredDir = fs.mkdtempSync(path.join(os.tmpdir(), 'review-delivered-'));

const pipeline = usePipeline({
  plugins: [require.resolve('../src/index')],
  sources: [{ id: 'review', processor: { workflow: 'review', options: { outDir: deliveredDir } } }],
});

test('a file is delivered and committed once the reviewer approves it', async () => {
  pipeline.putRemote('review', 'orders.csv', 'id,amount\n1,10\n');
  await pipeline.startWorker();
  assert.equal((await pipeline.poll('review')).claimed, 1);
  const claimed = await pipeline.waitForStatus('review', 'orders.csv', ['IN_PROGRESS']);

  const review = pipeline.client.workflow.getHandle(processorWorkflowId(claimed.workflowId ?? ''));
  const status = await waitUntil(
    'the review waiting for a decision',
    async () => {
      const s = await review.query(statusQuery);
      return s.stage === 'waiting-for-approval' ? s : undefined;
    },
    60_000,
  );
  assert.equal(status.summary?.lines, 2);
  await review.signal(decisionSignal, { approved: true, by: 'ann' });

  const done = await pipeline.waitForStatus('review', 'orders.csv', ['DONE'], 60_000);
  const result = JSON.parse(done.result ?? '{}') as { approvedBy: string; delivered: string };
  assert.equal(result.approvedBy, 'ann');
  assert.equal(fs.readFileSync(path.join(deliveredDir, result.delivered), 'utf8'), 'id,amount\n1,10\n');
});
