import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerRecord } from '../src/ledger';
import { historyShape } from './helpers/history';
import { usePipeline } from './helpers/pipeline';
import { publishedPaths } from './helpers/published';

const resultOf = (record: LedgerRecord): { sha256?: string } =>
  JSON.parse(record.result ?? '{}') as { sha256?: string };
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const pipeline = usePipeline({
  sources: [
    { id: 'files' },
    { id: 'stable', requireStableSize: true, stableTime: '3s' },
    { id: 'poison', processor: { name: 'command', options: { command: ['false'] } }, maxTries: 3 },
    { id: 'fast', smallFileMaxBytes: 4_096, remoteAction: { type: 'delete' } },
    // A listing may serve the rounds of one poll for up to pollInterval: long enough here on a loaded machine.
    { id: 'rounds', maxAcceptPerPoll: 2, pollInterval: '60s', retryTimeout: '90s', remoteAction: { type: 'delete' } },
    { id: 'room', maxInFlight: 2, pollInterval: '60s', retryTimeout: '90s' },
  ],
});

describe('pipeline on real Temporal, Redis and FTP', () => {
  test('N files → all DONE; each processed once with the source checksum; the ledger agrees', async () => {
    await pipeline.startWorker();
    const names = Array.from({ length: 12 }, (_, i) => `batch-${i}.csv`);
    const contents = new Map(names.map((name, i) => [name, `id,value\n${'row\n'.repeat(i * 50)}${name}\n`]));
    for (const [name, content] of contents) pipeline.putRemote('files', name, content);

    const summary = await pipeline.poll('files');
    assert.equal(summary.claimed, 12);
    assert.equal(summary.started, 12);

    for (const [name, content] of contents) {
      const record = await pipeline.waitForStatus('files', name, ['DONE']);
      const result = (await pipeline.fileResult(record)) as { outcome: string };
      assert.equal(result.outcome, 'done');
      assert.equal(record.tries, 1);
      assert.equal(resultOf(record).sha256, sha256(content), `ledger result of ${name}`);
      assert.equal(sha256(fs.readFileSync(pipeline.processed('files', name))), sha256(content), `processed ${name}`);
    }
    assert.deepEqual(publishedPaths(pipeline.processed('files', '')).sort(), [...names].sort());
    assert.deepEqual(fs.readdirSync(pipeline.config.workDir + '/files'), [], 'no leftovers in the work dir');
    assert.equal((await pipeline.ledger.counts('files')).DONE, 12);
  });

  test('an unchanged file is never taken again; a modified one is processed as a new version', async () => {
    const again = await pipeline.poll('files');
    assert.equal(again.claimed, 0);
    assert.equal(again.skipped.done, 12);

    const before = await pipeline.ledger.get('files', 'batch-3.csv');
    const modified = 'id,value\nchanged\n';
    const file = pipeline.putRemote('files', 'batch-3.csv', modified);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 120_000));
    const summary = await pipeline.poll('files');
    assert.equal(summary.claimed, 1);

    const record = await pipeline.waitForStatus('files', 'batch-3.csv', ['DONE'], 30_000);
    await pipeline.fileResult(record);
    assert.notEqual(record.version, before?.version);
    assert.ok((record.token ?? 0) > (before?.token ?? 0), 'a new version gets a new token');
    assert.equal(resultOf(record).sha256, sha256(modified));
    assert.equal(fs.readFileSync(pipeline.processed('files', 'batch-3.csv'), 'utf8'), modified);
  });

  test('a file still growing between polls is not taken until its size is stable', async () => {
    const file = pipeline.putRemote('stable', 'upload.bin', 'part one\n');
    assert.equal((await pipeline.poll('stable')).claimed, 0, 'first sight: not yet known to be stable');
    fs.appendFileSync(file, 'part two\n');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 60_000));
    const growing = await pipeline.poll('stable');
    assert.equal(growing.claimed, 0, 'changed since the last poll');
    assert.equal(growing.filteredOut['size-unstable'], 1);
    assert.equal(await pipeline.ledger.get('stable', 'upload.bin'), undefined);

    const momentsLater = await pipeline.poll('stable');
    // stableTime 3 s: the listings above are moments apart even on a loaded machine.
    assert.equal(momentsLater.claimed, 0, 'a second listing moments later is not "stable" (stableTime: 3s)');
    await sleep(3_100);
    const stable = await pipeline.poll('stable');
    assert.equal(stable.claimed, 1);
    const record = await pipeline.waitForStatus('stable', 'upload.bin', ['DONE']);
    assert.equal(resultOf(record).sha256, sha256('part one\npart two\n'));
  });

  test('a backlog over maxAcceptPerPoll: one poll claims it in rounds from one listing; the deletes list nothing', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `round-${i}.csv`);
    const remote = names.map((name) => pipeline.putRemote('rounds', name, `${name}\n`));
    const listings = (): number => pipeline.ftp.served.listings.get('/rounds') ?? 0;
    const before = listings();

    const summary = await pipeline.poll('rounds');
    assert.equal(summary.claimed, 7, 'rounds of 2, 2, 2 and 1');
    assert.equal(summary.started, 7);
    for (const name of names) {
      const record = await pipeline.waitForStatus('rounds', name, ['DONE']);
      assert.equal(record.tries, 1, name);
      await pipeline.fileResult(record);
      assert.equal((await pipeline.ledger.get('rounds', name))?.action, 'deleted', name);
    }
    assert.deepEqual(
      remote.filter((file) => fs.existsSync(file)),
      [],
      'every remote file deleted',
    );
    assert.equal(await pipeline.ledger.commits('rounds'), 7);
    // One listing for the four rounds; each delete checked its file's version with SIZE and MDTM.
    assert.equal(listings() - before, 1, 'the later rounds and the remote actions list nothing');
  });

  test('a backlog over maxInFlight: one poll waits for room and claims the rest as files finish', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `room-${i}.csv`);
    for (const name of names) pipeline.putRemote('room', name, `${name}\n`);
    const listings = (): number => pipeline.ftp.served.listings.get('/room') ?? 0;
    const before = listings();
    // A poll waits for room only until shortly before the Schedule's next poll (multiples of the 60 s interval).
    const toNextPoll = 60_000 - (Date.now() % 60_000);
    if (toNextPoll < 20_000) await sleep(toNextPoll + 100);

    const summary = await pipeline.poll('room');
    assert.equal(summary.claimed, 6, 'two at a time, as the ones in flight finish');
    assert.ok((summary.roomWaits ?? 0) >= 2, `waited for room: ${JSON.stringify(summary)}`);
    for (const name of names) await pipeline.waitForStatus('room', name, ['DONE']);
    assert.equal(await pipeline.ledger.commits('room'), 6);
    assert.equal(listings() - before, 1, 'the rounds after a wait claim from the first listing');
  });

  test('a poison file goes RETRY_WAIT → … → REJECTED after maxTries, with one dead letter', async () => {
    pipeline.putRemote('poison', 'bad.csv', 'this always fails\n');
    for (let attempt = 1; attempt <= 3; attempt++) {
      // The next claim is possible only once the retry timeout has passed.
      const record = await pollUntilClaimed('poison');
      assert.equal(record.tries, attempt);
      const after = await pipeline.waitForStatus('poison', 'bad.csv', ['RETRY_WAIT', 'REJECTED'], 60_000);
      assert.equal(after.status, attempt < 3 ? 'RETRY_WAIT' : 'REJECTED');
      assert.match(after.error ?? '', /exited with 1/);
    }
    const letters = await pipeline.ledger.deadLetters('poison');
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.path, 'bad.csv');
    assert.equal((await pipeline.poll('poison')).claimed, 0, 'REJECTED stays rejected');
  });
});

describe('small-file fast path (smallFileMaxBytes)', () => {
  test('small files: one local activity for download, process and publish; all DONE once; a large one as before', async () => {
    // The worker the first test started serves this source too.
    const small = Array.from({ length: 10 }, (_, i) => `small-${i}.csv`);
    const contents = new Map(small.map((name, i) => [name, `id,value\n${'row\n'.repeat(i * 20)}${name}\n`]));
    contents.set('large.csv', `id,value\n${'a longer row\n'.repeat(400)}`); // 5,209 bytes: over 4,096
    for (const [name, content] of contents) pipeline.putRemote('fast', name, content);

    const summary = await pipeline.poll('fast');
    assert.equal(summary.started, 11);
    for (const [name, content] of contents) {
      const record = await pipeline.waitForStatus('fast', name, ['DONE']);
      assert.equal(((await pipeline.fileResult(record)) as { outcome: string }).outcome, 'done');
      assert.equal(record.tries, 1, `${name} took one attempt`);
      assert.equal(resultOf(record).sha256, sha256(content), `ledger result of ${name}`);
      assert.equal(sha256(fs.readFileSync(pipeline.processed('fast', name))), sha256(content), `processed ${name}`);

      const shape = await historyShape(pipeline.client, record.workflowId ?? '');
      if (name === 'large.csv') {
        assert.deepEqual(shape.activities, ['downloadFile', 'processFile'], 'over the size: the usual steps');
      } else {
        assert.deepEqual(shape.activities, [], `${name}: no activity task`);
        assert.deepEqual(shape.localActivities, ['downloadProcessPublish', 'commitFile', 'finishRemoteAction']);
        assert.equal(shape.workflowTasks, 1, `${name}: one workflow task`);
        // The three local activities and the final stage upsert: no patch marker (the plan's patch level).
        assert.equal(shape.events, 9, `${name}: 9 history events`);
        assert.equal(shape.patchMarkers, 0, `${name}: no patch marker`);
      }
    }
    assert.deepEqual(publishedPaths(pipeline.processed('fast', '')).sort(), [...contents.keys()].sort());
    assert.deepEqual(fs.readdirSync(pipeline.config.workDir + '/fast'), [], 'no leftovers in the work dir');
    assert.equal((await pipeline.ledger.counts('fast')).DONE, 11);
    // The remote action (delete) ran after each commit: nothing is left on the server.
    for (const name of contents.keys()) assert.ok(!fs.existsSync(pipeline.remote('fast', name)), `${name} deleted`);
  });
});

async function pollUntilClaimed(sourceId: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const summary = await pipeline.poll(sourceId);
    if (summary.claimed > 0)
      return pipeline.waitForStatus(sourceId, 'bad.csv', ['IN_PROGRESS', 'RETRY_WAIT', 'REJECTED']);
    if (Date.now() > deadline) throw new Error('never claimed');
    await sleep(1_000);
  }
}
