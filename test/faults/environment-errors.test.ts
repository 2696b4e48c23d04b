// Issue 7, items 9 and 10: the environment never costs a file a try, and time decisions use one clock.
// A password rotated during a download makes the download wait (lease kept, no try spent) until it is set back;
// a wrong password (530) or a missing remoteDir (550) fails the poll at once, in `ftp-ingest poll` too (exit ≠ 0),
// with a message naming the server, and shows as the source's health. minFileAge is judged by Redis TIME, not
// by a listing worker whose clock runs ahead. (Item 9's bad `pattern` is refused at config load: test/config.test.ts,
// "a pattern is checked with the flags the filters use".)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { accountSource, sha256 } from '../helpers/faults';
import { spawnPoolWorker, waitUntil } from '../helpers/fault-run';
import { PASSWORD, PASSWORD_ENV, usePipeline } from '../helpers/pipeline';
import { tempDir } from '../helpers/servers';

const MiB = 1024 * 1024;
const run = promisify(execFile);
const bin = path.join(__dirname, '..', '..', 'bin', 'ftp-ingest.js');
/** Short deadlines, as in the other stuck-case scenarios. */
const SHORT = { pollInterval: '1s', vanishAfter: '3s', processTimeout: '2s', maxCrashes: 2, heartbeatTimeout: '1s' };
const wrongPasswordFile = path.join(tempDir('ftp-ingest-env-'), 'wrong-password');
fs.writeFileSync(wrongPasswordFile, 'not-the-password\n');

const pipeline = usePipeline({
  // A 6 MiB download lasts about 6 s: long enough to rotate the password in the middle.
  throttleBytesPerSecond: MiB,
  sources: [
    { id: 'rotate', ...SHORT },
    { id: 'badpass', ...SHORT, passwordEnv: undefined, passwordFile: wrongPasswordFile },
    { id: 'nodir', ...SHORT, remoteDir: '/no-such-dir' },
    { id: 'young', ...SHORT, minFileAge: '60s' },
  ],
});

let worker: Promise<unknown> | undefined;
/** The worker in this process (started once). */
const inProcessWorker = (): Promise<unknown> => (worker ??= pipeline.startWorker());

/** The innermost message of a failed poll workflow (what `ftp-ingest poll` prints). */
function pollFailure(err: unknown): string {
  assert.ok(err instanceof WorkflowFailedError, `a failed poll workflow, got ${String(err)}`);
  let deepest: Error = err;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}

/** `ftp-ingest --config <file> poll --source <id>` as a process: its exit code, stderr and duration. */
async function cliPoll(sourceId: string): Promise<{ code: number; stderr: string; seconds: number }> {
  const startedAt = Date.now();
  const args = [bin, '--config', pipeline.configFile, 'poll', '--source', sourceId];
  try {
    await run(process.execPath, args, { env: { ...process.env, [PASSWORD_ENV]: PASSWORD }, timeout: 60_000 });
    return { code: 0, stderr: '', seconds: (Date.now() - startedAt) / 1000 };
  } catch (err) {
    const { code, stderr } = err as { code: number; stderr: string };
    return { code, stderr, seconds: (Date.now() - startedAt) / 1000 };
  }
}

describe('environment errors cost no try; one clock', () => {
  test('item 9b: a password rotated during a download: the download waits, then resumes; tries 1', async (t) => {
    const content = randomBytes(6 * MiB);
    pipeline.putRemote('rotate', 'big.bin', content);
    const first = await spawnPoolWorker(pipeline, 'rotate-1');
    assert.ok((await first.ready) >= 0);
    assert.equal((await pipeline.poll('rotate')).claimed, 1);
    const served = (): number => pipeline.ftp.served.perPath.get('/rotate/big.bin') ?? 0;
    await waitUntil('a quarter of big.bin sent', () => (served() >= content.length / 4 ? true : undefined), 60_000, 50);

    // Rotated on the server; the session in flight goes on until its worker dies, and every new login fails.
    pipeline.ftp.setPassword?.('rotated-by-the-admin');
    first.child.process.kill('SIGKILL');
    await first.child.stop();
    const servedAtKill = served();
    const second = await spawnPoolWorker(pipeline, 'rotate-2');
    t.after(() => second.child.stop());

    const claimed = await pipeline.ledger.get('rotate', 'big.bin');
    const handle = pipeline.client.workflow.getHandle(claimed?.workflowId ?? '');
    const refused = await waitUntil(
      'the download refused with 530 a few times',
      async () => {
        const { raw } = await handle.describe();
        const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'downloadFile');
        const message = pending?.lastFailure?.message ?? '';
        return /530/.test(message) && (pending?.attempt ?? 0) >= 3 ? { message, attempt: pending?.attempt } : undefined;
      },
      60_000,
      250,
    );
    // Longer than a lease (retryTimeout 8s): the lease is kept while the download waits.
    const waitUntilMs = Date.now() + 10_000;
    while (Date.now() < waitUntilMs) {
      const record = await pipeline.ledger.get('rotate', 'big.bin');
      assert.equal(record?.status, 'IN_PROGRESS', 'still claimed while the password is wrong');
      assert.equal(record.tries, 1, 'no try spent');
      assert.equal(record.token, claimed?.token, 'the same attempt');
      await sleep(1_000);
    }
    const { raw } = await handle.describe();
    const attempts = raw.pendingActivities?.find((a) => a.activityType?.name === 'downloadFile')?.attempt;
    pipeline.ftp.setPassword?.(PASSWORD);

    const record = await pipeline.waitForStatus('rotate', 'big.bin', ['DONE'], 60_000);
    const result = (await pipeline.fileResult(record)) as { outcome: string };
    const refetched = served() - servedAtKill;
    t.diagnostic(
      `refused: ${JSON.stringify(refused)}; download runs while the password was wrong: ${attempts}; ` +
        `sent before the kill ${servedAtKill} B, after ${refetched} B of ${content.length}`,
    );
    assert.equal(result.outcome, 'done');
    assert.equal(record.tries, 1);
    assert.equal(record.token, claimed?.token, 'the attempt that waited finished the file');
    assert.equal((JSON.parse(record.result ?? '{}') as { sha256?: string }).sha256, sha256(content));
    assert.ok(refetched < content.length, 'the download resumed at its byte offset');
    assert.deepEqual(await pipeline.ledger.deadLetters('rotate'), []);
    const figures = await accountSource(pipeline, {
      scenario: 'password-rotated',
      sourceId: 'rotate',
      expected: new Map([['big.bin', sha256(content)]]),
      kills: 1,
    });
    t.diagnostic(`accounting: done=${figures.done} commits=${figures.commits} lost=${figures.lost}`);
    await second.child.stop();
  });

  test('item 9a: a wrong password (530) fails the poll at once, in the CLI too, and shows as health', async (t) => {
    await inProcessWorker();
    const where = `${pipeline.ftp.host}:${pipeline.ftp.port}`;
    const startedAt = Date.now();
    const message = await pipeline.poll('badpass').then(
      () => assert.fail('the poll must fail'),
      (err: unknown) => pollFailure(err),
    );
    const seconds = (Date.now() - startedAt) / 1000;
    t.diagnostic(`poll failed after ${seconds.toFixed(1)} s: ${message}`);
    assert.ok(seconds < 10, `fails fast (${seconds.toFixed(1)} s)`);
    assert.match(message, /source badpass: cannot list/);
    assert.ok(message.includes(where), `names the server ${where}`);
    assert.match(message, /\b530\b/);
    assert.ok(!message.includes('not-the-password'), 'never the password');

    const cli = await cliPoll('badpass');
    t.diagnostic(`ftp-ingest poll: exit ${cli.code} after ${cli.seconds.toFixed(1)} s: ${cli.stderr.trim()}`);
    assert.equal(cli.code, 2, 'exit 2: a setting to fix (docs/OPERATIONS.md)');
    assert.match(cli.stderr, /badpass.*530|530.*badpass/);
    assert.ok(cli.stderr.includes(`${pipeline.ftp.host}:${pipeline.ftp.port}`), 'names the server');

    const health = await pipeline.ledger.health('badpass');
    assert.equal(health?.ok, false);
    assert.match(health?.error ?? '', /530/);
  });

  test('item 9a: a missing remoteDir (550) fails the poll at once, in the CLI too; fixed, the source is healthy', async (t) => {
    await inProcessWorker();
    fs.rmSync(pipeline.remote('nodir', ''), { recursive: true, force: true });
    const startedAt = Date.now();
    const message = await pipeline.poll('nodir').then(
      () => assert.fail('the poll must fail'),
      (err: unknown) => pollFailure(err),
    );
    const seconds = (Date.now() - startedAt) / 1000;
    t.diagnostic(`poll failed after ${seconds.toFixed(1)} s: ${message}`);
    assert.ok(seconds < 10, `fails fast (${seconds.toFixed(1)} s)`);
    assert.ok(message.includes(`${pipeline.ftp.host}:${pipeline.ftp.port}/no-such-dir`), 'names server and directory');
    assert.match(message, /\b550\b/);

    const cli = await cliPoll('nodir');
    t.diagnostic(`ftp-ingest poll: exit ${cli.code} after ${cli.seconds.toFixed(1)} s: ${cli.stderr.trim()}`);
    assert.equal(cli.code, 2, 'exit 2: a setting to fix (docs/OPERATIONS.md)');
    assert.match(cli.stderr, /nodir.*550|550.*nodir/);
    const health = await pipeline.ledger.health('nodir');
    assert.equal(health?.ok, false);
    assert.match(health?.error ?? '', /550/);

    pipeline.putRemote('nodir', 'later.csv', 'the directory is back\n');
    assert.equal((await pipeline.poll('nodir')).claimed, 1);
    assert.equal((await pipeline.ledger.health('nodir'))?.ok, true, 'healthy again after a good poll');
    await pipeline.waitForStatus('nodir', 'later.csv', ['DONE'], 30_000);
  });

  test('item 10: minFileAge uses the ledger clock, not a listing worker 45 s ahead', async (t) => {
    await inProcessWorker(); // in this process: its clock is the one shifted below
    const young = pipeline.putRemote('young', 'young.csv', 'twenty seconds old\n');
    const old = pipeline.putRemote('young', 'old.csv', 'two minutes old\n');
    const now = Date.now();
    fs.utimesSync(young, new Date(now), new Date(now - 20_000));
    fs.utimesSync(old, new Date(now), new Date(now - 120_000));

    const realNow = Date.now;
    Date.now = () => realNow() + 45_000;
    let summary;
    try {
      summary = await pipeline.poll('young');
    } finally {
      Date.now = realNow;
    }
    t.diagnostic(`poll with the worker's clock 45 s ahead: ${JSON.stringify(summary)}`);
    assert.equal(summary.filteredOut['too-young'], 1, 'the 20 s old file is too young for minFileAge 60s');
    assert.equal(summary.claimed, 1, 'the 2 min old file is taken');
    assert.equal(await pipeline.ledger.get('young', 'young.csv'), undefined);
    await pipeline.waitForStatus('young', 'old.csv', ['DONE'], 30_000);
    await accountSource(pipeline, {
      scenario: 'one-clock',
      sourceId: 'young',
      expected: new Map([['old.csv', sha256('two minutes old\n')]]),
    });
  });
});
