// The activities alone, in MockActivityEnvironment (@temporalio/testing), with a real redis-server for the ledger:
// attempt counting, heartbeat checkpoints, cancellation, crash counting, and what counts as transient. Seconds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { claimOptionsOf, type ActivityDeps } from '../../src/activities/deps';
import { ATTEMPTS_PER_ACTIVITY, retryOrFail } from '../../src/activities/failures';
import {
  FIRST_PROGRESS_HEARTBEAT_MS,
  withLease,
  type HeldLease,
  type LeaseKeeperOptions,
} from '../../src/activities/lease-keeper';
import { SKIP_LOG_LINES, skipLog } from '../../src/activities/list-and-claim';
import { processFile } from '../../src/activities/process';
import { redactActivityErrors } from '../../src/worker/redact-activity-errors';
import { MAX_CHECKPOINT_BYTES } from '../../src/activities/processor-output';
import { publishFile } from '../../src/activities/publish';
import { keepRenewing } from '../../src/activities/running-claims';
import { isTransient } from '../../src/activities/transient';
import { parseConfig, type AppConfig } from '../../src/config';
import { registerProcessor, type ProcessorContext, type Progress } from '../../src/processors';

type Checkpoint = { step: number };
import { FtpFileError, FtpPermanentError, FtpTransientError, RemoteClients } from '../../src/remote';
import { ErrorTypes, type ClaimedFile } from '../../src/shared/types';
import { claimOptions, file, freshSource, useLedgerFixture } from '../helpers/ledger';
import { tempDir } from '../helpers/servers';

const fixture = useLedgerFixture();
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const mockEnv = (info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}): MockActivityEnvironment =>
  new MockActivityEnvironment(info, { logger: quiet });

/** A failure of `promise`: asserts it rejects, and returns what it rejected with. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a failure');
}

describe('attempt counting (retryOrFail)', () => {
  const run = (attempt: number, err: unknown): Promise<unknown> =>
    failureOf(mockEnv({ attempt }).run(() => retryOrFail(err, isTransient)));

  test(`a non-transient error on attempt ${ATTEMPTS_PER_ACTIVITY} ends the attempt (AttemptFailed)`, async () => {
    const err = await run(ATTEMPTS_PER_ACTIVITY, new FtpFileError('ftp file error (550): gone', 550));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.attemptFailed);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /550/);
  });

  test('a non-transient error before that stays as it is (Temporal retries it)', async () => {
    const original = new Error('disk hiccup');
    assert.equal(await run(ATTEMPTS_PER_ACTIVITY - 1, original), original);
  });

  test('a transient error stays retryable on any attempt: it never costs the file a try', async () => {
    for (const original of [
      new FtpTransientError('ftp server refused the connection (421)', 421),
      new FtpPermanentError('ftp error (530): login incorrect', 530),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
    ]) {
      assert.equal(await run(ATTEMPTS_PER_ACTIVITY + 5, original), original, original.message);
    }
  });
});

describe('isTransient: Redis away is told by error class, errno and reply code', () => {
  const named = (name: string, message: string): Error =>
    Object.defineProperty(new Error(message), 'name', { value: name });

  test('the cases of a Redis that is away', () => {
    const cases = [
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('whatever the text'), { code: 'ECONNREFUSED' }),
      new Error('Connection is closed.'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'),
      named('ReplyError', 'LOADING Redis is loading the dataset in memory'),
    ];
    for (const err of cases) assert.equal(isTransient(err), true, err.message);
  });

  test('not by words in a message', () => {
    const cases = [
      new Error('processor failed: ECONNREFUSED from my own database'),
      new Error('the Connection is closed. says my processor'),
      named('ReplyError', 'ERR something about LOADING'),
      new FtpFileError('ftp file error (550): gone', 550),
    ];
    for (const err of cases) assert.equal(isTransient(err), false, err.message);
  });
});

describe('processFile in MockActivityEnvironment', () => {
  const work = tempDir('ftp-ingest-unit-activities-');
  const steps: { name: string; fn: (ctx: ProcessorContext<Checkpoint>) => Promise<object> } = {
    name: 'unit-steps',
    fn: () => Promise.resolve({}),
  };
  // One processor whose behaviour each test sets (the registry keeps processors for the process's life).
  registerProcessor(steps.name, (ctx: ProcessorContext<Checkpoint>) => steps.fn(ctx));

  function depsFor(sourceId: string, extra: Record<string, unknown> = {}): ActivityDeps {
    const config: AppConfig = parseConfig(
      {
        workDir: path.join(work, 'work'),
        processedDir: path.join(work, 'processed'),
        sources: [{ id: sourceId, processor: { name: steps.name }, ...extra }],
      },
      {},
      { processors: [steps.name] },
    );
    return { config, ledger: fixture.ledger, remote: new RemoteClients(), hostTaskQueue: 'unit-host' };
  }

  /** Claims one file in the ledger and puts its local copy in workDir, as download leaves it. */
  async function claimed(deps: ActivityDeps, sourceId: string): Promise<{ file: ClaimedFile; localPath: string }> {
    const source = deps.config.sources.find((s) => s.id === sourceId);
    assert.ok(source);
    const result = await deps.ledger.claimBatch(
      sourceId,
      [file('a.csv', 1_700_000_000_000, 5)],
      claimOptionsOf(deps.config.clusterId, source, 'run-1'),
    );
    assert.equal(result.claims.length, 1);
    const { leaseUntil: _leaseUntil, ...claim } = result.claims[0]!;
    const localPath = path.join(sourceId, `attempt-${claim.token}`, 'a.csv');
    fs.mkdirSync(path.join(deps.config.workDir, path.dirname(localPath)), { recursive: true });
    fs.writeFileSync(path.join(deps.config.workDir, localPath), '12345');
    return { file: claim, localPath };
  }

  test("a processor's checkpoint reaches the heartbeat details; the next run gets it back as `checkpoint`", async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    const seen: unknown[] = [];
    steps.fn = (ctx) => {
      seen.push(ctx.checkpoint);
      if (ctx.checkpoint === undefined) {
        ctx.heartbeat({ done: 1, total: 2, unit: 'step' }, { step: 1 });
        return Promise.reject(new Error('worker lost after step 1'));
      }
      return Promise.resolve({ resumedFrom: ctx.checkpoint });
    };

    const first = mockEnv({ attempt: 1 });
    const beats: unknown[] = [];
    first.on('heartbeat', (details: unknown) => beats.push(details));
    await failureOf(first.run(processFile, deps, input));
    const progress: Progress = { done: 1, total: 2, unit: 'step' };
    assert.deepEqual(beats.at(-1), { progress, checkpoint: { step: 1 } });

    const second = mockEnv({ attempt: 2, heartbeatDetails: beats.at(-1) });
    const result = await second.run(processFile, deps, input);
    assert.deepEqual(seen, [undefined, { step: 1 }]);
    assert.deepEqual(result, { processor: steps.name, result: { resumedFrom: { step: 1 } } });
  });

  test('a checkpoint too large for Temporal fails the file at once (permanent), and aborts the processor', async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    let aborted = false;
    steps.fn = async (ctx) => {
      ctx.signal.addEventListener('abort', () => (aborted = true));
      const big = { step: 1, buffer: 'y'.repeat(MAX_CHECKPOINT_BYTES) };
      ctx.heartbeat({ done: 1, total: 2, unit: 'step' }, big);
      await sleep(5_000, undefined, { signal: ctx.signal }).catch(() => undefined);
      return {};
    };
    const err = await failureOf(mockEnv().run(processFile, deps, input));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.permanent);
    assert.match(err.message, /^processor checkpoint is \d+ bytes, over 262144/);
    assert.equal(aborted, true);
  });

  test('no configured secret leaves in what a processor throws: strings, objects, causes', async () => {
    const sourceId = freshSource();
    const secret = 'sekret-4f1d9a';
    const deps = { ...depsFor(sourceId, { passwordEnv: 'UNIT_FTP_PASSWORD' }), env: { UNIT_FTP_PASSWORD: secret } };
    const input = await claimed(deps, sourceId);
    const thrownValues: unknown[] = [
      `a string with ${secret}`,
      { code: 42, detail: secret },
      new Error('wrapped', { cause: new Error(`inner ${secret}`) }),
    ];
    for (const thrown of thrownValues) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a careless processor does
      steps.fn = () => Promise.reject(thrown);
      const err = await failureOf(mockEnv({ attempt: 1 }).run(processFile, deps, input));
      assert.ok(err instanceof Error, String(err));
      const text = `${err.message} ${err.stack ?? ''} ${String((err.cause as Error | undefined)?.message)}`;
      assert.ok(!text.includes(secret), text);
      assert.match(text, /\*\*\*/);
    }
  });

  test('a processor that writes to its input: the changed copy is not published, the attempt fails', async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    steps.fn = async (ctx) => {
      await fs.promises.appendFile(ctx.localPath, 'GARBAGE');
      return {};
    };
    await mockEnv().run(processFile, deps, input);
    const err = await failureOf(mockEnv().run(publishFile, deps, input));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.attemptFailed);
    assert.match(err.message, /changed after the download \(12 bytes, not 5\)/);
    assert.equal(
      fs.readdirSync(deps.config.processedDir, { recursive: true }).filter((f) => /a\.csv/.test(String(f))).length,
      0,
    );
  });

  test('a processor that returns nothing commits `{}`; a result that is not JSON fails the file at once', async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    steps.fn = () => Promise.resolve(undefined as unknown as object);
    assert.deepEqual(await mockEnv().run(processFile, deps, input), { processor: steps.name, result: {} });
    steps.fn = () => Promise.resolve({ rows: 10n });
    const err = await failureOf(mockEnv({ attempt: 1 }).run(processFile, deps, input));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.permanent);
    assert.match(err.message, /^processor result is not JSON: TypeError: Do not know how to serialize a BigInt/);
  });

  test("a processor's own network error counts against the file; a plain object named PermanentProcessorError rejects it", async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    // Its own database away: ECONNREFUSED like Redis's, but the processor's failure (retried, then the attempt fails).
    steps.fn = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:5432'), { code: 'ECONNREFUSED' }));
    const err = await failureOf(mockEnv({ attempt: ATTEMPTS_PER_ACTIVITY }).run(processFile, deps, input));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.attemptFailed);
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a careless processor does
    steps.fn = () => Promise.reject({ name: 'PermanentProcessorError', message: 'no header row' });
    const permanent = await failureOf(mockEnv({ attempt: 1 }).run(processFile, deps, input));
    assert.ok(permanent instanceof ApplicationFailure, String(permanent));
    assert.equal(permanent.type, ErrorTypes.permanent);
  });

  test('a processor that ignores its signal does not hold the run once the activity is cancelled', async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    steps.fn = () => {
      started();
      return new Promise(() => undefined); // never settles, never looks at ctx.signal
    };
    const env = mockEnv();
    const outcome = failureOf(env.run(processFile, deps, input));
    await running;
    env.cancel();
    const ended = await Promise.race([outcome.then(() => 'ended'), sleep(5_000).then(() => 'still running')]);
    assert.equal(ended, 'ended');
  });

  test("cancelling the activity aborts the processor's signal", async () => {
    const sourceId = freshSource();
    const deps = depsFor(sourceId);
    const input = await claimed(deps, sourceId);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let abortedWith: unknown;
    steps.fn = (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        });
        started();
      });

    const env = mockEnv();
    const outcome = failureOf(env.run(processFile, deps, input));
    await running;
    env.cancel();
    await outcome;
    assert.ok(abortedWith !== undefined, 'the processor saw its signal abort');
  });
});

/** A fresh claim's lease settings (its renewal timer fires after 6.7 s: not within these tests). */
async function leaseOf(maxCrashes: number): Promise<LeaseKeeperOptions> {
  const sourceId = freshSource();
  const result = await fixture.ledger.claimBatch(sourceId, [file('crashy.csv')], claimOptions());
  const { leaseUntil: _leaseUntil, ...claim } = result.claims[0]!;
  return {
    ledger: fixture.ledger,
    file: claim,
    step: 'process',
    leaseMs: 60_000,
    heartbeatTimeoutMs: 20_000,
    maxCrashes,
  };
}

/** The heartbeat details a step sends to Temporal while it runs with its lease. */
async function heartbeatsOf(step: (lease: HeldLease<{ done: number }>) => Promise<void>): Promise<unknown[]> {
  const env = mockEnv();
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  await env.run(async () => withLease(await leaseOf(3), step));
  return beats;
}

describe("redactActivityErrors (every activity, a plugin's too)", () => {
  test('a failure leaves the worker with no configured secret in its message, stack or causes', async () => {
    const secret = 'sekret-77aa01';
    const interceptor = redactActivityErrors(() => [secret])({} as Context);
    const execute = interceptor.inbound?.execute;
    assert.ok(execute);
    const failing = new Error(`downstream login failed with ${secret}`, { cause: `inner ${secret}` });
    const err = await failureOf(execute({ args: [], headers: {} }, () => Promise.reject(failing)));
    assert.ok(err instanceof Error);
    const text = `${err.message}\n${err.stack ?? ''}\n${String((err.cause as Error).message)}`;
    assert.ok(!text.includes(secret), text);
    assert.match(err.message, /downstream login failed with \*\*\*/);
    // The type Temporal reads stays; a frozen error is copied, redacted.
    const typed = ApplicationFailure.nonRetryable(`no ${secret}`, ErrorTypes.permanent);
    const kept = await failureOf(execute({ args: [], headers: {} }, () => Promise.reject(typed)));
    assert.ok(kept instanceof ApplicationFailure && kept.type === ErrorTypes.permanent && kept.nonRetryable);
    assert.equal(kept.message, 'no ***');
    const frozen = Object.freeze(ApplicationFailure.nonRetryable(`frozen ${secret}`, ErrorTypes.permanent));
    const copied = await failureOf(execute({ args: [], headers: {} }, () => Promise.reject(frozen)));
    assert.ok(copied instanceof ApplicationFailure && copied.type === ErrorTypes.permanent && copied.nonRetryable);
    assert.equal(copied.message, 'frozen ***');
  });
});

describe('heartbeats (withLease)', () => {
  test('a step that ends within its first second sends no progress; a checkpoint goes at once', async () => {
    const progressOnly = await heartbeatsOf((lease) => {
      lease.heartbeat({ done: 1 });
      lease.heartbeat({ done: 2 });
      return Promise.resolve();
    });
    assert.deepEqual(progressOnly, []);
    const checkpoint = await heartbeatsOf((lease) => {
      lease.heartbeat({ done: 1 }, true);
      return Promise.resolve();
    });
    assert.deepEqual(checkpoint, [{ done: 1 }]);
  });

  test('a longer step sends its latest progress when its first second has passed, then as it comes', async () => {
    const beats = await heartbeatsOf(async (lease) => {
      lease.heartbeat({ done: 1 });
      lease.heartbeat({ done: 2 });
      await sleep(FIRST_PROGRESS_HEARTBEAT_MS + 300);
      lease.heartbeat({ done: 3 });
    });
    assert.deepEqual(beats, [{ done: 2 }, { done: 3 }]);
  });
});

describe('crash counting (withLease)', () => {
  test('refuses with crash-loop after maxCrashes runs that never ended, without running the step', async () => {
    const lease = await leaseOf(2);
    const { sourceId, path: remotePath, token } = lease.file;
    // Runs whose worker died: begun, never ended.
    for (let i = 0; i < lease.maxCrashes; i++) {
      const begun = await fixture.ledger.beginRun(sourceId, remotePath, token, {
        step: 'process',
        leaseMs: 60_000,
        maxCrashes: 2,
      });
      assert.equal(begun.ok, true);
    }
    let ran = false;
    const step = (): Promise<string> => {
      ran = true;
      return Promise.resolve('done');
    };
    const err = await failureOf(mockEnv().run(() => withLease(lease, step)));
    assert.equal(ran, false);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.permanent);
    assert.match(err.message, /^crash-loop: 2 runs/);
  });

  test('a run that stalls past heartbeatTimeout (Temporal timed it out) counts as hung, though it returns', async () => {
    const lease = { ...(await leaseOf(2)), heartbeatTimeoutMs: 1_000 };
    const { sourceId, path: remotePath } = lease.file;
    // A processor that blocks the event loop (no heartbeat can leave the worker meanwhile), then goes on: the
    // renewal timer's next tick comes before its end.
    const blocking = async (): Promise<string> => {
      const until = Date.now() + 2_300;
      while (Date.now() < until);
      await sleep(400);
      return 'late';
    };
    assert.equal(await mockEnv().run(() => withLease(lease, blocking)), 'late');
    assert.deepEqual(await fixture.ledger.runsInRow(sourceId, remotePath, lease.file.token), {
      download: 0,
      process: 1,
    });
    await mockEnv().run(() => withLease(lease, blocking));
    const err = await failureOf(mockEnv().run(() => withLease(lease, () => Promise.resolve('fine'))));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.match(err.message, /^crash-loop: 2 runs of its process in a row/);
  });

  test('runs that end are not crashes', async () => {
    const lease = await leaseOf(1);
    for (let i = 0; i < 3; i++) assert.equal(await mockEnv().run(() => withLease(lease, () => Promise.resolve(i))), i);
  });
});

describe('skipped listing entries', () => {
  test(`each of the first ${SKIP_LOG_LINES} of a poll is logged, then only their count`, () => {
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger = { debug: (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg }) };
    const skips = skipLog('orders', logger as unknown as Parameters<typeof skipLog>[1]);
    for (let i = 0; i < SKIP_LOG_LINES + 5; i++) skips.onSkip(`link-${i}`, 'symlink');
    skips.end();
    assert.equal(lines.length, SKIP_LOG_LINES + 1);
    assert.deepEqual(lines[0]!.fields, { source: 'orders', path: 'link-0', reason: 'symlink' });
    assert.deepEqual(lines.at(-1)!.fields, { source: 'orders', skipped: SKIP_LOG_LINES + 5, notLogged: 5 });
  });

  test('a poll with few skips logs no count line', () => {
    const lines: unknown[] = [];
    const skips = skipLog('orders', { debug: (...args: unknown[]) => void lines.push(args) });
    skips.onSkip('dev', 'not a regular file');
    skips.end();
    assert.equal(lines.length, 1);
  });
});

describe('keepRenewing (the running claims a poll keeps while it lists)', () => {
  test('a claim waits for a renewal that succeeded within half a lease; none while renewals fail', async () => {
    let calls = 0;
    let failing = false;
    const errors: unknown[] = [];
    const keeper = await keepRenewing(
      () => {
        calls++;
        return failing ? Promise.reject(new Error('Temporal is away')) : Promise.resolve();
      },
      { everyMs: 100, freshForMs: 200 },
      (err) => errors.push(err),
    );
    try {
      assert.equal(calls, 1, 'renewed at once');
      await keeper.renewedRecently();
      assert.equal(calls, 1, 'a renewal that recent is enough');
      failing = true;
      await sleep(350);
      assert.ok(errors.length >= 2, 'the periodic renewals failed');
      const before = calls;
      await assert.rejects(keeper.renewedRecently(), /Temporal is away/, 'no claim after failed renewals');
      assert.equal(calls, before + 1, 'it tried once more itself');
      failing = false;
      await keeper.renewedRecently();
    } finally {
      await keeper.stop();
    }
    const stopped = calls;
    await sleep(250);
    assert.equal(calls, stopped, 'no renewal after stop');
  });
});
