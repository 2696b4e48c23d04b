// Fault scenario "the file will not hold still": a file rewritten in place with the same size while it is being
// downloaded, and a file the server keeps refusing (450 busy) while it serves everything else. The first must
// never be committed as a mix of both versions under the old one; the second must not hold its claim for ever.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { FILE_REFUSAL_RUNS } from '../../src/activities/download';
import { fileVersion, fileWorkflowId } from '../../src/shared/ids';
import type { FileWorkflowResult } from '../../src/shared/types';
import { sha256 } from '../helpers/faults';
import { ftpProxy } from '../helpers/ftp-proxy';
import { usePipeline } from '../helpers/pipeline';

const REWRITTEN = 'rewritten';
const BUSY = 'busy';
const SIZE = 2_000_000;
const proxy = ftpProxy();
const pipeline = usePipeline({
  sources: [{ id: REWRITTEN }, { id: BUSY, maxTries: 1 }],
  // About 10 s for the rewritten file: time to change it under the transfer.
  throttleBytesPerSecond: 200_000,
  ftpVia: (ftp) => proxy.start(ftp),
});

/** Polls the source until `done` holds (or fails after `timeoutMs`). */
async function pollUntil(sourceId: string, done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, `${sourceId}: not settled in ${timeoutMs} ms`);
    await pipeline.poll(sourceId);
    await sleep(1_000);
  }
}

test('a same-size rewrite during the download is never committed as the old version; the new one is', async () => {
  const v1 = randomBytes(SIZE);
  const v2 = Buffer.from(v1);
  randomBytes(200_000).copy(v2, 0); // the head changes (already downloaded) …
  randomBytes(500_000).copy(v2, SIZE - 500_000); // … and the tail (still to come)
  const remote = pipeline.putRemote(REWRITTEN, 'data.bin', v1);
  const t1 = new Date('2025-03-01T10:00:00Z');
  fs.utimesSync(remote, t1, t1);
  await pipeline.startWorker();
  assert.equal((await pipeline.poll(REWRITTEN)).claimed, 1);
  await sleep(3_000);
  const fd = fs.openSync(remote, 'r+'); // in place: no truncation, the size never changes
  fs.writeSync(fd, v2, 0, SIZE, 0);
  fs.closeSync(fd);
  const t2 = new Date('2025-03-01T10:07:00Z');
  fs.utimesSync(remote, t2, t2);

  await pollUntil(REWRITTEN, async () => (await pipeline.ledger.get(REWRITTEN, 'data.bin'))?.status === 'DONE', 90_000);
  const record = (await pipeline.ledger.get(REWRITTEN, 'data.bin'))!;
  assert.equal(record.version, fileVersion(t2.getTime(), SIZE), 'the version committed is the new one');
  assert.equal(sha256(fs.readFileSync(pipeline.processed(REWRITTEN, 'data.bin'))), sha256(v2), 'with its bytes');
  assert.equal(await pipeline.ledger.commits(REWRITTEN), 1, 'the old version was never committed');
  const first = pipeline.client.workflow.getHandle(
    fileWorkflowId(REWRITTEN, 'data.bin', fileVersion(t1.getTime(), SIZE), 1),
  );
  const ended = (await first.result()) as FileWorkflowResult;
  assert.equal(ended.outcome, 'released', "the old version's attempt ended at the check after the transfer");
  assert.match(ended.error ?? '', /remote file changed during download/);
});

test(`a file the server refuses for ever ends its attempt after ${FILE_REFUSAL_RUNS} runs, and REJECTED at maxTries`, async () => {
  proxy.answerCommands((command) => (/^RETR .*stuck/.test(command) ? '450 file busy' : undefined));
  pipeline.putRemote(BUSY, 'stuck.csv', 'a,b\n1,2\n');
  pipeline.putRemote(BUSY, 'ok.csv', 'a,b\n3,4\n');
  await pollUntil(
    BUSY,
    async () => (await pipeline.ledger.get(BUSY, 'stuck.csv'))?.status === 'REJECTED',
    // FILE_REFUSAL_RUNS runs at most activityMaxInterval (1 s here) apart, plus the polls.
    90_000,
  );
  proxy.answerCommands(undefined);
  const stuck = (await pipeline.ledger.get(BUSY, 'stuck.csv'))!;
  assert.match(stuck.error ?? '', /450/, 'the reason names the server reply');
  assert.equal((await pipeline.ledger.get(BUSY, 'ok.csv'))?.status, 'DONE', 'the other file went through');
});
