// The CLI as an operator drives it, as a child process against real servers given by a config file: each
// command's output and exit code, the one-line errors of unreachable servers, schedules of removed sources.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { sourceKeys } from '../src/ledger/keys';
import { FTP_PATH, FTP_SOURCE } from '../src/shared/search-attributes';
import type { SourceConfig } from '../src/config';
import { FtpPermanentError, FtpTlsError, FtpTransientError, RemoteLoginError, SftpHostKeyError } from '../src/remote';
import { neverPolledLateness } from '../src/starter/actions/files';
import { CliError } from '../src/starter/errors';
import { ftpError } from '../src/starter/ftp';
import { pollScheduleState, upsertPollSchedule } from '../src/starter/schedules';
import { lateLine } from '../src/starter/views';
import { PASSWORD, PASSWORD_ENV, usePipeline } from './helpers/pipeline';

const bin = path.join(__dirname, '..', 'bin', 'ftp-ingest.js');
const WRONG_PASSWORD_ENV = 'FTP_INGEST_TEST_WRONG_PASSWORD';

const pipeline = usePipeline({
  sources: [
    { id: 'cli' },
    { id: 'cli-bad', processor: { name: 'command', options: { command: ['false'] } }, maxTries: 1 },
    { id: 'cli-bf', recursive: true, maxAcceptPerPoll: 2 },
    { id: 'cli-slow', processor: { name: 'delay', options: { steps: 20, stepMs: 500 } } },
    { id: 'cli-wft' },
    { id: 'cli-late', pollInterval: '1m', retryTimeout: '5m' },
    // One file in flight at most, each 4 s: a poll of two waits for room (until its Schedule's next time, a multiple
    // of pollInterval), longer than a short --wait.
    {
      id: 'cli-room',
      processor: { name: 'delay', options: { steps: 8, stepMs: 500 } },
      maxInFlight: 1,
      pollInterval: '10m',
      retryTimeout: '11m',
      vanishAfter: '20m',
    },
    // Error cases: nothing listens on port 1; a wrong password; a remote dir that is not there.
    { id: 'cli-noport', port: 1 },
    { id: 'cli-badpw', passwordEnv: WRONG_PASSWORD_ENV },
    { id: 'cli-nodir', remoteDir: '/cli-nodir' },
  ],
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function cliWith(
  env: Record<string, string>,
  args: string[],
  config: string | undefined = pipeline.configFile,
): Promise<Run> {
  const started = Date.now();
  const argv = [bin, ...(config === undefined ? [] : ['--config', config]), ...args];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { env: { ...process.env, [PASSWORD_ENV]: PASSWORD, [WRONG_PASSWORD_ENV]: 'not-the-password', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (process.env.CLI_TEST_SAMPLES)
          fs.appendFileSync(
            process.env.CLI_TEST_SAMPLES,
            `$ ftp-ingest ${args.join(' ')}  → exit ${code}\n${stdout}${stderr}\n`,
          );
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}
const cli = (...args: string[]): Promise<Run> => cliWith({}, args);

/** Runs a command that must succeed and returns its stdout. */
async function ok(...args: string[]): Promise<string> {
  const run = await cli(...args);
  assert.equal(run.code, 0, `${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}
const json = <T = Record<string, unknown>>(stdout: string): T => JSON.parse(stdout) as T;

/** Asserts the error is one or two lines, naming what is given, without a stack trace. */
function assertShortError(run: Run, code: number, ...mentions: (string | RegExp)[]): void {
  assert.equal(run.code, code, `exit ${run.code}, wanted ${code}: ${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.ok(lines.length <= 2, `more than two lines:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  for (const mention of mentions) {
    if (typeof mention === 'string') assert.ok(run.stderr.includes(mention), `"${mention}" not in: ${run.stderr}`);
    else assert.match(run.stderr, mention);
  }
}

/** Every key of the ledger with its serialized value and expiry: equal dumps mean byte-identical ledgers. */
async function ledgerDump(): Promise<Map<string, string>> {
  const dump = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await pipeline.redis.scan(cursor, 'COUNT', 1000);
    for (const key of keys) {
      const value = await pipeline.redis.dumpBuffer(key);
      dump.set(key, `${value?.toString('base64') ?? ''} ttl=${await pipeline.redis.pttl(key)}`);
    }
    cursor = next;
  } while (cursor !== '0');
  return dump;
}

// One worker for the tests that need one (started by the first of them).
let workerStarted: Promise<unknown> | undefined;
const startWorker = (): Promise<unknown> => (workerStarted ??= pipeline.startWorker());

async function terminateRunning(): Promise<void> {
  for await (const run of pipeline.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    await pipeline.client.workflow
      .getHandle(run.workflowId, run.runId)
      .terminate('test: schedule gone')
      .catch(() => undefined);
  }
}

describe('ftp-ingest CLI', () => {
  test('help, flags refused by the parser (exit 2), statuses in any case', async () => {
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 all ok; 1 some items failed/);
    for (const command of ['backfill', 'inspect', 'files', 'schedule', 'retry']) {
      assert.match(help.stdout, new RegExp(`\\n  ${command} `));
    }
    assert.match((await cli('backfill', '--help')).stdout, /--dry-run/);

    assertShortError(await cli('status', '--limit', 'abc'), 2, '--limit', 'abc');
    assertShortError(await cli('files', '-s', 'cli', '--status', 'finished'), 2, '--status', 'finished');
    assertShortError(await cli('files', '-s', 'cli', '--limit', '-3'), 2, '--limit');
    assertShortError(
      await cli('schedule', 'backfill', '-s', 'cli', '--start', 'yesterday-ish', '--end', '1h'),
      2,
      '--start',
    );
    assertShortError(
      await cli('schedule', 'backfill', '-s', 'cli', '--start', '2024-01-03', '--end', '2024-01-02'),
      2,
      '--start',
      'is after --end',
    );
    assertShortError(await cli('nonsense'), 2, 'nonsense');
    assert.equal((await cli('files', '-s', 'cli', '--status', 'done', '--status', 'retry_wait,Rejected')).code, 0);
    assertShortError(await cli('files', '-s', 'nope'), 2, 'unknown source "nope"', 'cli-bf');
    assertShortError(await cli('retry', 'cli'), 2, '--all-rejected');
    assertShortError(await cli('retry', 'cli', 'a.csv', '--all-rejected'), 2, 'not both');

    const empty = path.join(pipeline.dataDir, 'empty.yaml');
    fs.writeFileSync(empty, '');
    assertShortError(await cliWith({}, ['status'], empty), 2, 'empty.yaml', 'the file is empty');
  });

  test('unreachable servers, bad login, missing dir: one line naming setting and address, in seconds', async () => {
    // The time stated is the CLI's own wait for a server (3 s), on top of starting Node (slow on a busy machine).
    const startup = (await cli('files', '--help')).ms;
    const within = (run: Run, what: string): void =>
      assert.ok(run.ms - startup < 6_000, `${what} error after ${run.ms} ms (start-up ${startup} ms)`);
    const redis = await cliWith({ FTP_INGEST_REDIS_URL: 'redis://127.0.0.1:1' }, ['status']);
    assertShortError(redis, 3, 'redis.url', 'redis://127.0.0.1:1');
    within(redis, 'Redis');

    const temporal = await cliWith({ FTP_INGEST_TEMPORAL_ADDRESS: '127.0.0.1:1' }, ['schedule', 'list']);
    assertShortError(temporal, 3, 'temporal.address', '127.0.0.1:1');
    within(temporal, 'Temporal');

    // Something that speaks HTTP/2 but is not Temporal (a web server, the Web UI's port): a config error.
    const web = http2.createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const notTemporal = `127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const wrong = await cliWith({ FTP_INGEST_TEMPORAL_ADDRESS: notTemporal }, ['schedule', 'list']);
      assertShortError(wrong, 2, 'temporal.address', notTemporal, 'does not answer as a Temporal server', '404');
    } finally {
      web.close();
    }

    const ftp = await cli('poll', '-s', 'cli-noport');
    assertShortError(ftp, 3, 'cli-noport', `${pipeline.ftp.host}:1`, 'port');
    within(ftp, 'FTP');

    const login = await cli('poll', '-s', 'cli-badpw');
    assertShortError(login, 2, 'cli-badpw', 'login', `:${pipeline.ftp.port}`, 'passwordEnv');
    assert.ok(!login.stderr.includes('not-the-password'));
    // A source whose scheduled polls fail has no files to show: status names the failure, and exits 1.
    await pipeline.ledger.recordPoll('cli-badpw', { ok: false, error: 'ftp login refused (530)' });
    const failing = await cli('status', '-s', 'cli-badpw');
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /last poll .+ FAILED: ftp login refused \(530\) \(last ok: never\)/);
    const failingJson = json<{ health: { ok: boolean; error: string } }>(
      (await cli('status', '-s', 'cli-badpw', '--json')).stdout,
    );
    assert.deepEqual([failingJson.health.ok, failingJson.health.error], [false, 'ftp login refused (530)']);

    fs.rmSync(pipeline.remote('cli-nodir', ''), { recursive: true, force: true });
    const dir = await cli('backfill', '-s', 'cli-nodir', '--dry-run');
    assertShortError(dir, 2, '/cli-nodir', 'remoteDir');

    // No worker runs yet: the poll is stopped after --wait and reported (exit 3), not left hanging.
    const noWorker = await cli('poll', '-s', 'cli', '--wait', '2');
    assertShortError(noWorker, 3, 'is a worker running on task queue ftp-ingest-test', 'temporal.taskQueue');

    // --verbose shows the stack trace that is otherwise left out.
    const verbose = await cliWith({ FTP_INGEST_REDIS_URL: 'redis://127.0.0.1:1' }, ['--verbose', 'status']);
    assert.equal(verbose.code, 3);
    assert.match(verbose.stderr, /^\s+at /m);
  });

  test('schedules: lifecycle, list with orphans, delete an orphan by --id', async () => {
    assert.equal(
      json<{ result: string }[]>(await ok('schedule', 'create', '-s', 'cli', '--json'))[0]?.result,
      'created',
    );
    assert.equal(
      json<{ result: string }[]>(await ok('schedule', 'create', '-s', 'cli', '--json'))[0]?.result,
      'updated',
    );
    assert.equal(
      json<{ result: string }[]>(await ok('schedule', 'update', '-s', 'cli', '--json'))[0]?.result,
      'updated',
    );
    // A schedule left behind by a source that is no longer in the config.
    await upsertPollSchedule(pipeline.client, pipeline.config, { ...pipeline.config.sources[0]!, id: 'gone' });

    await ok('schedule', 'pause', '-s', 'cli', '--note', 'maintenance');
    const described = json<{ schedule: { paused: boolean; note: string } }[]>(
      await ok('schedule', 'describe', '-s', 'cli', '--json'),
    );
    assert.deepEqual([described[0]?.schedule.paused, described[0]?.schedule.note], [true, 'maintenance']);
    assert.match(
      await ok('schedule', 'describe', '-s', 'cli'),
      /ftp-poll\/cli\s+cli\s+yes\s+paused\s+\S+\s+- \(paused\)/,
    );

    // The schedule list comes from Temporal's visibility store, which may lag a moment.
    let list: { id: string; configured: boolean; paused: boolean }[] = [];
    for (let i = 0; i < 50 && !list.some((s) => s.id === 'ftp-poll/gone'); i++) {
      list = json(await ok('schedule', 'list', '--json'));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(
      list.map((s) => [s.id, s.configured]),
      [
        ['ftp-poll/cli', true],
        ['ftp-poll/gone', false],
      ],
    );
    assert.match(await ok('schedule', 'list'), /ftp-poll\/gone\s+gone\s+NO \(orphan\)/);

    await ok('schedule', 'unpause', '-s', 'cli');
    await ok('schedule', 'trigger', '-s', 'cli');
    await ok('schedule', 'backfill', '-s', 'cli', '--start', '2h', '--end', '1h');

    // The orphan: refused as a source (exit 2), reached by --id; a missing schedule is a named failure (exit 1).
    assertShortError(await cli('schedule', 'delete', '-s', 'gone'), 2, 'unknown source "gone"');
    assert.equal(
      json<{ ok: boolean }[]>(await ok('schedule', 'describe', '--id', 'ftp-poll/gone', '--json'))[0]?.ok,
      true,
    );
    assert.match(await ok('schedule', 'delete', '--id', 'ftp-poll/gone'), /ftp-poll\/gone\s+deleted/);
    const again = await cli('schedule', 'delete', '--id', 'gone');
    assert.equal(again.code, 1);
    assert.match(again.stdout, /ftp-poll\/gone\s+FAILED\s+no schedule ftp-poll\/gone/);
    await ok('schedule', 'delete', '-s', 'cli');
    const describeMissing = await cli('schedule', 'describe', '-s', 'cli');
    assert.equal(describeMissing.code, 1);
    // No worker ran yet: the polls the schedule started must not run later.
    await terminateRunning();
  });

  test('poll, files, status, inspect, dead-letters, retry and reprocess', async () => {
    await startWorker();
    pipeline.putRemote('cli', 'a.csv', 'a\n');
    pipeline.putRemote('cli', 'b.csv', 'b\n');
    pipeline.putRemote('cli-bad', 'b.csv', 'b\n');
    const summary = json<{ claimed: number; listed: number }>(await ok('poll', '-s', 'cli', '--json'));
    assert.deepEqual([summary.claimed, summary.listed], [2, 2]);
    assert.match(await ok('poll', '-s', 'cli'), /poll cli: listed 2, filtered out 0, skipped \d+/);
    await pipeline.waitForStatus('cli', 'a.csv', ['DONE']);
    await pipeline.waitForStatus('cli', 'b.csv', ['DONE']);
    await ok('poll', '-s', 'cli-bad');
    await pipeline.waitForStatus('cli-bad', 'b.csv', ['REJECTED']);

    // files: stable order, dates, the "more" hint, paging, JSON.
    const page1 = await ok('files', '-s', 'cli', '--limit', '1');
    assert.match(page1, /^STATUS\s+TRIES\s+PATH\s+MODIFIED/);
    assert.match(page1, /DONE\s+1\s+a\.csv\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/);
    assert.match(page1, /1 more of 2 \(add --offset 1/);
    assert.match(await ok('files', '-s', 'cli', '--limit', '1', '--offset', '1'), /b\.csv/);
    const files = json<{ total: number; files: { path: string; doneAt: string; result: { sha256: string } }[] }>(
      await ok('files', '-s', 'cli', '--json', '--path', '*.csv', '--status', 'done'),
    );
    assert.deepEqual(
      files.files.map((f) => f.path),
      ['a.csv', 'b.csv'],
    );
    assert.match(files.files[0]!.doneAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(typeof files.files[0]!.result.sha256, 'string');

    const [status] = (await ok('status', '--source', 'cli-bad', '--json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { counts: unknown });
    assert.deepEqual(status?.counts, { IN_PROGRESS: 0, DONE: 0, REJECTED: 1, RETRY_WAIT: 0 });
    const cliStatus = await ok('status', '-s', 'cli');
    assert.match(
      cliStatus,
      /source cli: IN_PROGRESS=0 DONE=2 REJECTED=0 RETRY_WAIT=0\n {2}last poll .+ ok, \d+ listed/,
    );

    // inspect: a DONE and a REJECTED file; an unknown one.
    const done = await ok('inspect', 'cli', 'a.csv');
    assert.match(done, /status\s+DONE/);
    assert.match(done, /ftp\/cli\/a\.csv@\d+-2#1\s+COMPLETED\s+done/);
    assert.match(done, /http:\/\/.*\/namespaces\/.*\/workflows\/ftp%2Fcli%2Fa\.csv/);
    const rejected = await ok('inspect', 'cli-bad', 'b.csv');
    assert.match(rejected, /next\s+REJECTED: /);
    assert.match(rejected, /dead letters:\n\s+AT\s+VERSION/);
    const storyJson = json<{ record: { status: string }; workflows: unknown[]; deadLetters: unknown[] }>(
      await ok('inspect', 'cli-bad', 'b.csv', '--json'),
    );
    assert.deepEqual(
      [storyJson.record.status, storyJson.workflows.length, storyJson.deadLetters.length],
      ['REJECTED', 1, 1],
    );
    const unknown = await cli('inspect', 'cli', 'nope.csv');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /no ledger record/);

    // dead-letters: newest first, JSON, an unknown source is exit 2.
    const letters = json<{ entries: { path: string; at: string }[] }>(await ok('dead-letters', 'cli-bad', '--json'));
    assert.deepEqual(
      letters.entries.map((e) => e.path),
      ['b.csv'],
    );
    assert.match(await ok('dead-letters', 'cli-bad'), /^AT\s+PATH/);
    assertShortError(await cli('dead-letters', 'nope'), 2, 'unknown source');

    // retry: a missing path and a DONE file are named failures (exit 1); globs and --all-rejected work.
    const retryMissing = await cli('retry', 'cli', 'nope.csv', 'a.csv');
    assert.equal(retryMissing.code, 1);
    assert.match(retryMissing.stdout, /FAILED\s+nope\.csv\s+no file in the ledger matches/);
    assert.match(retryMissing.stdout, /FAILED\s+a\.csv\s+DONE: not REJECTED/);
    assert.match(retryMissing.stdout, /retry cli: 0 retried, 2 failed/);
    const retried = await ok('retry', 'cli-bad', '*.csv');
    assert.match(retried, /retried\s+b\.csv\s+now RETRY_WAIT/);
    assert.match(retried, /retry cli-bad: 1 retried, 0 failed/);
    assert.equal((await pipeline.ledger.get('cli-bad', 'b.csv'))?.status, 'RETRY_WAIT');
    // What it waits for: a poll, and no schedule polls cli-bad in this test.
    assert.match(
      await ok('inspect', 'cli-bad', 'b.csv'),
      /next\s+due now: the next poll claims it.*; no poll schedule for cli-bad: `ftp-ingest poll -s cli-bad`/,
    );
    const nothing = await cli('retry', 'cli-bad', '--all-rejected');
    assert.equal(nothing.code, 0, 'nothing REJECTED any more: nothing to do, not a failure');
    assert.match(nothing.stdout, /retry cli-bad: no REJECTED file, nothing to do/);

    // reprocess: a glob over DONE files; a second run finds them no longer DONE.
    const reprocessed = json<{ ok: number; failed: number }>(await ok('reprocess', 'cli', '*.csv', '--json'));
    assert.deepEqual([reprocessed.ok, reprocessed.failed], [2, 0]);
    assert.equal((await cli('reprocess', 'cli', 'a.csv')).code, 1);
    // A DONE file no longer on the server (a remote action deleted it): refused, its record kept as it was.
    pipeline.putRemote('cli', 'gone.csv', 'g\n');
    await ok('poll', '-s', 'cli');
    await pipeline.waitForStatus('cli', 'gone.csv', ['DONE']);
    fs.rmSync(pipeline.remote('cli', 'gone.csv'));
    const goneRun = await cli('reprocess', 'cli', 'gone.csv');
    assert.equal(goneRun.code, 1);
    assert.match(goneRun.stdout, /FAILED\s+gone\.csv\s+no longer on the server/);
    assert.equal((await pipeline.ledger.get('cli', 'gone.csv'))?.status, 'DONE');
    await ok('poll', '-s', 'cli');
    const again = await pipeline.waitForStatus('cli', 'a.csv', ['DONE']);
    assert.equal(again.attempt, 2);
  });

  test('inspect an in-flight file: its running workflow, the pending activity, the lease', async () => {
    await startWorker();
    pipeline.putRemote('cli-slow', 'slow.csv', 'slow\n');
    await ok('poll', '-s', 'cli-slow');
    await pipeline.waitForStatus('cli-slow', 'slow.csv', ['IN_PROGRESS']);
    let story = '';
    for (let i = 0; i < 50 && !/processFile running/.test(story); i++) {
      story = await ok('inspect', 'cli-slow', 'slow.csv');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(story, /status\s+IN_PROGRESS/);
    assert.match(story, /lease\s+until \d{4}-\d{2}-\d{2} .* \(in \d+s\)/);
    assert.match(story, /runs\s+download 0, process 1 begun since the step last ended/);
    assert.match(story, /next\s+processFile running \(attempt 1\)/);
    assert.match(story, /ftp\/cli-slow\/slow\.csv@\d+-5#1\s+RUNNING\s+process/);
    assert.match(story, /pending processFile: started, attempt 1/);
    const inFlight = await ok('files', '-s', 'cli-slow', '--status', 'in_progress');
    assert.match(inFlight, /IN_PROGRESS\s+1\s+slow\.csv.*in progress on test, lease in \d+s/);
    // Quiet again before the next tests compare whole-ledger dumps.
    await pipeline.waitForStatus('cli-slow', 'slow.csv', ['DONE']);
  });

  test('status shows file workflows whose workflow tasks keep failing (exit 1), until they stop failing', async () => {
    await startWorker();
    pipeline.putRemote('cli-wft', 'fine.csv', 'fine\n');
    // A file workflow whose workflow task throws, as after a bad deploy: Temporal retries the task and flags it.
    const workflowId = 'ftp/cli-wft/broken.csv@1-1#1';
    const broken = await pipeline.client.workflow.start('fileWorkflow', {
      taskQueue: pipeline.config.temporal.taskQueue,
      workflowId,
      args: [{}],
      workflowTaskTimeout: '2s',
      typedSearchAttributes: [
        { key: FTP_SOURCE, value: 'cli-wft' },
        { key: FTP_PATH, value: 'broken.csv' },
      ],
    });
    let status = await cli('status', '-s', 'cli-wft');
    for (const until = Date.now() + 90_000; !/failing workflow tasks/.test(status.stdout) && Date.now() < until;) {
      await ok('poll', '-s', 'cli-wft'); // each poll counts them while it renews its running claims
      status = await cli('status', '-s', 'cli-wft');
      if (!/failing workflow tasks/.test(status.stdout)) await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    assert.equal(status.code, 1, status.stdout);
    assert.match(
      status.stdout,
      /1 file workflow\(s\) of cluster \S+ have failing workflow tasks \(seen .*\), e\.g\. ftp\/cli-wft\/broken\.csv@1-1#1/,
    );
    const asJson = json<{ health: { failingWorkflows: { count: number; example: string }[] } }>(
      (await cli('status', '-s', 'cli-wft', '--json')).stdout,
    );
    assert.deepEqual(
      asJson.health.failingWorkflows.map(({ count, example }) => [count, example]),
      [[1, workflowId]],
    );
    // Fixed (here: ended): the next poll clears it.
    await broken.terminate('test: fixed');
    await ok('poll', '-s', 'cli-wft');
    status = await cli('status', '-s', 'cli-wft');
    assert.equal(status.code, 0, status.stdout);
    assert.doesNotMatch(status.stdout, /failing workflow tasks/);
  });

  test('status: a source whose polls stopped is LATE (exit 1), unless its schedule is paused', async () => {
    const health = sourceKeys(pipeline.config.redis.keyPrefix, 'cli-late').health;
    // Its last poll, 10 minutes ago (every minute expected: late after 5 intervals and 2 minutes).
    const pollAt = async (msAgo: number): Promise<void> => {
      const [seconds] = await pipeline.redis.time();
      const at = Number(seconds) * 1000 - msAgo;
      await pipeline.redis.hset(health, { lastPollAt: at, lastOkAt: at, listed: 0, error: '' });
    };
    await pollAt(6 * 60_000);
    // A cluster that stopped polling the source 10 minutes ago, when it had file workflows with failing tasks:
    // its leases have lapsed since, and other clusters take its files over. Said, not a failure.
    const [seconds] = await pipeline.redis.time();
    const entry = { count: 2, example: 'ftp/cli-late/x.csv@1-1#1', at: Number(seconds) * 1000 - 10 * 60_000 };
    await pipeline.redis.hset(health, 'failing:gone-cluster', JSON.stringify(entry));
    const notLate = await cli('status', '-s', 'cli-late');
    assert.equal(notLate.code, 0, `six intervals without a poll: not late yet\n${notLate.stdout}`);
    assert.match(
      notLate.stdout,
      /2 file workflow\(s\) of cluster gone-cluster had failing workflow tasks when its polls/,
    );
    await pipeline.redis.hdel(health, 'failing:gone-cluster');
    await pollAt(10 * 60_000);
    let status = await cli('status', '-s', 'cli-late');
    assert.equal(status.code, 1, status.stdout);
    assert.match(
      status.stdout,
      /LATE: no poll for 10m\d*s? \(every 1m expected\) and no poll schedule: `ftp-ingest schedule create -s cli-late`/,
    );
    await ok('schedule', 'create', '-s', 'cli-late');
    await ok('schedule', 'pause', '-s', 'cli-late');
    await pollAt(10 * 60_000);
    status = await cli('status', '-s', 'cli-late');
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /no poll for 10m\d*s? \(every 1m expected\): its poll schedule is paused/);
    const late = json<{ late: { schedule: string; everyMs: number } }>(
      (await cli('status', '-s', 'cli-late', '--json')).stdout,
    ).late;
    assert.deepEqual([late.schedule, late.everyMs], ['paused', 60_000]);
    // Never polled (no health at all) under an active schedule created just now: not late. (Made with a day's
    // interval: no poll of it can start and record one meanwhile.)
    await ok('schedule', 'delete', '-s', 'cli-late');
    await pipeline.redis.del(health);
    const lateSource = pipeline.config.sources.find((source) => source.id === 'cli-late')!;
    await upsertPollSchedule(pipeline.client, pipeline.config, { ...lateSource, pollIntervalMs: 86_400_000 });
    const created = (await pollScheduleState(pipeline.client, 'cli-late')).createdAtMs ?? 0;
    assert.ok(Math.abs(created - Date.now()) < 60_000, `the schedule's creation time: ${created}`);
    status = await cli('status', '-s', 'cli-late');
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /last poll: none yet/);
    assert.doesNotMatch(status.stdout, /LATE/);
    // Never polled and no schedule: nothing will ever poll it, late at once.
    await ok('schedule', 'delete', '-s', 'cli-late');
    status = await cli('status', '-s', 'cli-late');
    assert.equal(status.code, 1, status.stdout);
    assert.match(
      status.stdout,
      /LATE: no poll recorded yet and no poll schedule: `ftp-ingest schedule create -s cli-late`/,
    );
  });

  test('status: a source never polled is LATE once its active schedule is that old', () => {
    const minute = 60_000;
    const now = Date.now();
    const active = { schedule: 'active' as const, runningPoll: 'ftp-poll/x-1' };
    // Late after 5 intervals and 2 minutes without a poll, counted from the schedule's creation.
    assert.equal(neverPolledLateness({ ...active, createdAtMs: now - 6 * minute }, minute, now), undefined);
    assert.deepEqual(neverPolledLateness({ ...active, createdAtMs: now - 8 * minute }, minute, now), {
      sinceMs: 8 * minute,
      everyMs: minute,
      schedule: 'active',
      runningPoll: 'ftp-poll/x-1',
      neverPolled: true,
    });
    const old = now - 60 * minute;
    assert.equal(neverPolledLateness({ schedule: 'paused', createdAtMs: old }, minute, now), undefined);
    assert.deepEqual(neverPolledLateness({ schedule: 'none' }, minute, now), {
      everyMs: minute,
      schedule: 'none',
      neverPolled: true,
    });
    assert.deepEqual(neverPolledLateness({ schedule: 'unknown' }, minute, now), {
      everyMs: minute,
      schedule: 'unknown',
      neverPolled: true,
    });
    assert.equal(
      lateLine('x', neverPolledLateness({ schedule: 'unknown' }, minute, now)).join(''),
      'LATE: no poll recorded yet; Temporal could not be asked about its schedule',
    );
    const line = lateLine('x', neverPolledLateness({ ...active, createdAtMs: old }, minute, now)).join('');
    assert.match(
      line,
      /^LATE: no poll recorded yet, 1h\S* after its schedule was created \(every 1m expected\): poll ftp-poll\/x-1 still runs/,
    );
  });

  test("a server's refusals name the setting to fix: login and trust are exit 2, not 'unreachable'", () => {
    const ftp = pipeline.config.sources.find((source) => source.id === 'cli')!;
    const sftp = { ...ftp, protocol: 'sftp' as const };
    const cases: [SourceConfig, Error, number, RegExp][] = [
      [ftp, new FtpPermanentError('530 Login incorrect.', 530), 2, /refused the login .*cli\.passwordEnv/],
      [sftp, new RemoteLoginError('sftp login refused: all methods failed', undefined), 2, /SFTP .*cli\.privateKeyEnv/],
      [sftp, new SftpHostKeyError('h:22', 'not the pinned key', 'fingerprint-mismatch'), 2, /cli\.hostKeyFingerprint/],
      [
        ftp,
        new FtpTlsError('h:21', 'self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'),
        2,
        /sources\.cli\.tls\)/,
      ],
      [ftp, new FtpTransientError('connection closed', undefined), 3, /unreachable/],
    ];
    for (const [source, err, code, message] of cases) {
      const mapped = ftpError(source, err);
      assert.ok(mapped instanceof CliError, `${err.name}: ${String(mapped)}`);
      assert.equal(mapped.exitCode, code, `${err.name}: ${mapped.message}`);
      assert.match(mapped.message, message);
    }
  });

  test('poll: a poll a worker runs for longer than --wait goes on (exit 0); one no worker takes is stopped', async () => {
    await startWorker();
    // A poll waits for room only until shortly before its Schedule's next time (every 10 minutes from the epoch).
    const toNextPoll = 600_000 - (Date.now() % 600_000);
    if (toNextPoll < 30_000) await sleep(toNextPoll + 1_000);
    for (const name of ['r1.csv', 'r2.csv']) pipeline.putRemote('cli-room', name, 'x\n');
    const run = await cli('poll', '-s', 'cli-room', '--wait', '2');
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const running = /^poll cli-room: still running after 2s .*it goes on as workflow (\S+)$/m.exec(run.stdout);
    assert.ok(running, run.stdout);
    // Not terminated: once the first file is done it claims the second.
    await pipeline.waitForStatus('cli-room', 'r2.csv', ['DONE']);
    const described = await pipeline.client.workflow.getHandle(running[1]!).describe();
    assert.notEqual(described.status.name, 'TERMINATED');
  });

  // The files of the backfill tests, one of them DONE already (taken alone by a first backfill).
  let backfillFiles: Promise<void> | undefined;
  const setUpBackfillFiles = (): Promise<void> =>
    (backfillFiles ??= (async () => {
      await startWorker();
      for (const name of ['day1/x1.csv', 'day1/x2.csv', 'day1/x3.csv', 'day2/y1.csv', '.hidden.csv', 'day1/x0.csv']) {
        pipeline.putRemote('cli-bf', name, `${name}\n`);
      }
      await ok('backfill', '-s', 'cli-bf', '--path', 'day1/x0.csv');
      await pipeline.waitForStatus('cli-bf', 'day1/x0.csv', ['DONE']);
    })());

  test('backfill --dry-run changes nothing (byte-identical ledger) and says why for each file', async () => {
    await setUpBackfillFiles();
    const before = await ledgerDump();
    const dry = await cli('backfill', '-s', 'cli-bf', '--dir', 'day1', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await ledgerDump(), before, 'the dry run left the ledger byte-identical');
    assert.match(dry.stdout, /claim\s+day1\/x1\.csv/);
    assert.match(dry.stdout, /later\s+day1\/x3\.csv/, 'maxAcceptPerPoll 2: the third file comes in a later round');
    assert.match(dry.stdout, /skip\s+day1\/x0\.csv\s.*already DONE/);
    assert.doesNotMatch(dry.stdout, /day2\//);
    assert.match(dry.stdout, /Nothing was changed/);

    const dryAll = json<{ files: { path: string; decision: string; reason?: string }[] }>(
      await ok('backfill', '-s', 'cli-bf', '--dry-run', '--json', '--reprocess'),
    );
    const decisionOf = (p: string): string | undefined => dryAll.files.find((f) => f.path === p)?.decision;
    assert.equal(decisionOf('.hidden.csv'), 'filtered');
    assert.equal(decisionOf('day1/x0.csv'), 'reprocess');
    assert.equal(decisionOf('day2/y1.csv'), 'later', 'maxAcceptPerPoll 2 is taken by day1');
    assert.deepEqual(await ledgerDump(), before, 'the dry run left the ledger byte-identical');
  });

  test('backfill for real: a glob that matches nothing fails; rounds of maxAcceptPerPoll; --reprocess', async () => {
    await setUpBackfillFiles();
    const none = await cli('backfill', '-s', 'cli-bf', '--path', 'day9/*');
    assert.equal(none.code, 1);
    assert.match(none.stdout, /FAILED day9\/\*: no listed file matches/);

    // day1 with --reprocess, in rounds of maxAcceptPerPoll (2).
    const real = json<{ claimed: number; started: number; rounds: number }>(
      await ok('backfill', '-s', 'cli-bf', '--dir', 'day1', '--reprocess', '--json'),
    );
    assert.deepEqual([real.claimed, real.started], [4, 4]);
    assert.ok(real.rounds >= 2, `rounds ${real.rounds}`);
    for (const name of ['day1/x0.csv', 'day1/x1.csv', 'day1/x2.csv', 'day1/x3.csv']) {
      const record = await pipeline.waitForStatus('cli-bf', name, ['DONE']);
      assert.ok(record.pollRun?.startsWith('backfill:'), record.pollRun);
    }
    assert.equal((await pipeline.ledger.get('cli-bf', 'day1/x0.csv'))?.attempt, 2);
    assert.equal(await pipeline.ledger.get('cli-bf', 'day2/y1.csv'), undefined, 'outside the selection');
    // Again: everything of day1 is DONE now, nothing to claim.
    const repeat = await ok('backfill', '-s', 'cli-bf', '--dir', 'day1');
    assert.match(repeat, /claimed 0, started 0/);
    // --reprocess with --limit: only the files it claims are run again; the others keep their DONE records.
    const limited = json<{ claimed: number }>(
      await ok('backfill', '-s', 'cli-bf', '--dir', 'day1', '--reprocess', '--limit', '1', '--json'),
    );
    assert.equal(limited.claimed, 1);
    for (const name of ['day1/x1.csv', 'day1/x2.csv', 'day1/x3.csv']) {
      const record = await pipeline.ledger.get('cli-bf', name);
      assert.deepEqual([record?.status, record?.attempt], ['DONE', 1], `${name} was not selected by --limit 1`);
    }
    assert.equal((await pipeline.waitForStatus('cli-bf', 'day1/x0.csv', ['DONE'])).attempt, 3);
    // A directory or a window that selects nothing is a failure; a window that ends before it starts, a usage error.
    const noDir = await cli('backfill', '-s', 'cli-bf', '--dir', 'day9');
    assert.equal(noDir.code, 1, noDir.stdout);
    assert.match(noDir.stdout, /FAILED --dir day9: no listed file is selected by it/);
    const inverted = await cli('backfill', '-s', 'cli-bf', '--since', '2024-01-03', '--until', '2024-01-02');
    assertShortError(inverted, 2, '--since must be before --until');
  });
});
