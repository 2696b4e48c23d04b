// The workflows alone, with mocked activities, on a real Temporal dev server (TestWorkflowEnvironment): the order
// of the steps (publish before the fenced commit, the remote action after it), a superseded attempt, a rejected
// file's failure, a host lost after processing, and the poll's children. Seconds, not minutes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import { historyShape } from '../helpers/history';
import { pollTaskQueue } from '../../src/shared/ids';
import { temporalBinary } from '../../src/stack/tools';
import { FTP_KIND, FTP_PATH, FTP_SOURCE, FTP_STAGE } from '../../src/shared/search-attributes';
import { PATCH_LEVEL, pollInputOf } from '../../src/shared/patch-level';
import {
  ErrorTypes,
  type ClaimedFile,
  type FilePlan,
  type FileWorkflowResult,
  type PollSummary,
} from '../../src/shared/types';
import { fileWorkflow, pollWorkflow } from '../../src/workflows';

const TASK_QUEUE = 'unit';
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const quietBundler = { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as unknown as DefaultLogger;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalBinary() },
        searchAttributes: [FTP_SOURCE, FTP_PATH, FTP_STAGE, FTP_KIND],
        log: { format: 'pretty', level: 'error' },
      },
    }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietBundler }),
  ]);
});

after(async () => {
  await env?.teardown();
});

const file: ClaimedFile = {
  sourceId: 'unit',
  path: 'in/a.csv',
  version: '1700000000000-10',
  mtimeMs: 1_700_000_000_000,
  size: 10,
  token: 7,
  tries: 1,
  attempt: 1,
  workflowId: 'ftp/unit/in/a.csv@1700000000000-10#1',
};

const plan: FilePlan = {
  heartbeatTimeoutMs: 1_000,
  activityMaxIntervalMs: 1_000,
  activityTimeoutMs: 60_000,
  sharedWorkDir: true,
  processTimeoutMs: 10_000,
  remoteAction: true,
  patchLevel: PATCH_LEVEL,
};

type Calls = string[];

/** Activities that record their calls (`name@queue`) and do what `overrides` say. */
function mockActivities(calls: Calls, queue: string, overrides: Partial<Record<keyof Activities, () => unknown>> = {}) {
  const step =
    <T>(name: keyof Activities, result: T) =>
    (): Promise<T> => {
      calls.push(`${name}@${queue}`);
      const override = overrides[name];
      return Promise.resolve(override ? (override() as T) : result);
    };
  return {
    listAndClaim: step('listAndClaim', {}),
    downloadFile: step('downloadFile', { localPath: 'l', bytes: 10, resumedFrom: 0, hostTaskQueue: `${queue}-host` }),
    processFile: step('processFile', { processor: 'checksum', result: { ok: true } }),
    publishFile: step('publishFile', { processedPath: 'p' }),
    downloadProcessPublish: step('downloadProcessPublish', { processor: 'checksum', result: { ok: true } }),
    commitFile: step('commitFile', { alreadyCommitted: false }),
    finishRemoteAction: step('finishRemoteAction', 'deleted'),
    moveFile: step('moveFile', { processedPath: 'p', remoteAction: 'none' }),
    releaseFile: step('releaseFile', { status: 'RETRY_WAIT' }),
  };
}

async function withWorkers<T>(workers: { taskQueue: string; activities: object }[], run: () => Promise<T>): Promise<T> {
  const created = await Promise.all(
    workers.map((w) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue: w.taskQueue,
        workflowBundle: bundle,
        activities: w.activities,
      }),
    ),
  );
  let result: T | undefined;
  const runs = created.map((worker) => worker.run());
  try {
    result = await run();
  } finally {
    created.forEach((worker) => worker.shutdown());
    await Promise.all(runs);
  }
  return result;
}

const runFile = (id: string, input = { file, plan }): Promise<FileWorkflowResult> =>
  env.client.workflow.execute(fileWorkflow, { taskQueue: TASK_QUEUE, workflowId: id, args: [input] });

describe('fileWorkflow', () => {
  test('download → process → publish → commit → remote action: the output exists before the commit', async () => {
    const calls: Calls = [];
    const result = await withWorkers([{ taskQueue: TASK_QUEUE, activities: mockActivities(calls, 'main') }], () =>
      runFile('happy'),
    );
    assert.equal(result.outcome, 'done');
    assert.deepEqual(calls, [
      'downloadFile@main',
      'processFile@main',
      'publishFile@main',
      'commitFile@main',
      'finishRemoteAction@main',
    ]);
  });

  test('no remote action configured: nothing runs after the commit', async () => {
    const calls: Calls = [];
    await withWorkers([{ taskQueue: TASK_QUEUE, activities: mockActivities(calls, 'main') }], () =>
      runFile('no-action', { file, plan: { ...plan, remoteAction: false } }),
    );
    assert.equal(calls.at(-1), 'commitFile@main');
  });

  test('a claim lost at publish: no commit, the release cleans up, the workflow ends superseded', async () => {
    const calls: Calls = [];
    const lost = () => {
      throw ApplicationFailure.nonRetryable('claim lost: superseded', ErrorTypes.claimLost);
    };
    const activities = mockActivities(calls, 'main', { publishFile: lost });
    const result = await withWorkers([{ taskQueue: TASK_QUEUE, activities }], () => runFile('superseded'));
    assert.equal(result.outcome, 'superseded');
    assert.ok(!calls.includes('commitFile@main'), 'never commits');
    assert.equal(calls.at(-1), 'releaseFile@main');
  });

  test('a REJECTED file: the workflow fails (FileRejected) with its result in the details', async () => {
    const calls: Calls = [];
    const permanent = () => {
      throw ApplicationFailure.nonRetryable('crash-loop: 5 runs ended without a word', ErrorTypes.permanent);
    };
    const activities = mockActivities(calls, 'main', {
      processFile: permanent,
      releaseFile: () => ({ status: 'REJECTED' }),
    });
    const failure = await withWorkers([{ taskQueue: TASK_QUEUE, activities }], () =>
      runFile('rejected').then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    assert.ok(failure instanceof WorkflowFailedError);
    const cause = failure.cause;
    assert.ok(cause instanceof ApplicationFailure && cause.type === ErrorTypes.rejected);
    assert.match(cause.message, /crash-loop/);
    assert.equal((cause.details?.[0] as FileWorkflowResult).outcome, 'rejected');
  });

  test('local workDir: the host is lost after processing, so the file starts over on another host', async () => {
    const calls: Calls = [];
    let downloads = 0;
    const hostQueues = ['host-1', 'host-2'];
    const main = mockActivities(calls, 'main', {
      downloadFile: () => ({ localPath: 'l', bytes: 10, resumedFrom: 0, hostTaskQueue: hostQueues[downloads++] }),
    });
    // host-1 processes, then is gone before it can publish; host-2 does it all.
    const host1 = Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'host-1',
      workflowBundle: bundle,
      activities: mockActivities(calls, 'host-1', {
        processFile: () => {
          setImmediate(() => void host1.then((w) => w.shutdown()));
          return { processor: 'checksum', result: {} };
        },
      }),
    });
    const host1Run = (await host1).run();
    const result = await withWorkers(
      [
        { taskQueue: TASK_QUEUE, activities: main },
        { taskQueue: 'host-2', activities: mockActivities(calls, 'host-2') },
      ],
      () => runFile('host-lost', { file, plan: { ...plan, sharedWorkDir: false } }),
    );
    await host1Run;
    assert.equal(result.outcome, 'done');
    assert.deepEqual(calls, [
      'downloadFile@main',
      'processFile@host-1',
      'downloadFile@main',
      'processFile@host-2',
      'publishFile@host-2',
      'commitFile@main',
      'finishRemoteAction@main',
    ]);
  });
});

describe('fileWorkflow, small-file fast path', () => {
  const fast: FilePlan = { ...plan, smallFileMaxBytes: 10 };

  test('a file up to the size: one local activity for download, process and publish, then commit and action', async () => {
    const calls: Calls = [];
    const result = await withWorkers([{ taskQueue: TASK_QUEUE, activities: mockActivities(calls, 'main') }], () =>
      runFile('fast-happy', { file, plan: fast }),
    );
    assert.equal(result.outcome, 'done');
    assert.deepEqual(result.result, { ok: true });
    assert.deepEqual(calls, ['downloadProcessPublish@main', 'commitFile@main', 'finishRemoteAction@main']);
    const shape = await historyShape(env.client, 'fast-happy');
    assert.deepEqual(shape.activities, [], 'no activity task');
    assert.deepEqual(shape.localActivities, ['downloadProcessPublish', 'commitFile', 'finishRemoteAction']);
    assert.equal(shape.workflowTasks, 1);
    assert.equal(shape.patchMarkers, 0, 'a plan with a patch level records no patch marker');
  });

  test('a file over the size: the usual steps', async () => {
    const calls: Calls = [];
    await withWorkers([{ taskQueue: TASK_QUEUE, activities: mockActivities(calls, 'main') }], () =>
      runFile('fast-too-big', { file, plan: { ...fast, smallFileMaxBytes: 9 } }),
    );
    assert.deepEqual(calls.slice(0, 3), ['downloadFile@main', 'processFile@main', 'publishFile@main']);
  });

  test('a source with a workflow processor: the usual steps (the fast path is for activity processors)', async () => {
    const calls: Calls = [];
    const processorWorkflow = { name: 'notRegistered', options: {} };
    await withWorkers([{ taskQueue: TASK_QUEUE, activities: mockActivities(calls, 'main') }], async () => {
      const handle = await env.client.workflow.start(fileWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'fast-workflow-processor',
        args: [{ file, plan: { ...fast, processorWorkflow } }],
      });
      // It downloads as an activity, then waits for its processor's child workflow (no worker has it here).
      for (let i = 0; i < 100 && !calls.includes('downloadFile@main'); i++) await sleep(100);
      await handle.terminate('test over');
    });
    assert.deepEqual(calls, ['downloadFile@main']);
  });

  test('a claim lost inside it: no commit, the release cleans up, the workflow ends superseded', async () => {
    const calls: Calls = [];
    const activities = mockActivities(calls, 'main', {
      downloadProcessPublish: () => {
        throw ApplicationFailure.nonRetryable('claim lost: superseded', ErrorTypes.claimLost);
      },
    });
    const result = await withWorkers([{ taskQueue: TASK_QUEUE, activities }], () =>
      runFile('fast-superseded', { file, plan: fast }),
    );
    assert.equal(result.outcome, 'superseded');
    assert.deepEqual(calls, ['downloadProcessPublish@main', 'releaseFile@main']);
  });

  test('a permanent error inside it: released as permanent, REJECTED, the workflow fails', async () => {
    const calls: Calls = [];
    let releasedPermanent: boolean | undefined;
    const activities = {
      ...mockActivities(calls, 'main', {
        downloadProcessPublish: () => {
          throw ApplicationFailure.nonRetryable('bad input', ErrorTypes.permanent);
        },
      }),
      releaseFile: ({ permanent }: { permanent: boolean }) => {
        calls.push('releaseFile@main');
        releasedPermanent = permanent;
        return Promise.resolve({ status: 'REJECTED' });
      },
    };
    const failure = await withWorkers([{ taskQueue: TASK_QUEUE, activities }], () =>
      runFile('fast-rejected', { file, plan: fast }).then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    assert.ok(failure instanceof WorkflowFailedError);
    assert.ok(failure.cause instanceof ApplicationFailure && failure.cause.type === ErrorTypes.rejected);
    assert.match(failure.cause.message, /bad input/);
    assert.equal(releasedPermanent, true);
    assert.deepEqual(calls, ['downloadProcessPublish@main', 'releaseFile@main']);
  });

  test('an environment error is retried inside it without failing the attempt', async () => {
    const calls: Calls = [];
    let runs = 0;
    const activities = mockActivities(calls, 'main', {
      downloadProcessPublish: () => {
        if (++runs < 3) throw new Error('ECONNRESET');
        return { processor: 'checksum', result: { ok: true } };
      },
    });
    const result = await withWorkers([{ taskQueue: TASK_QUEUE, activities }], () =>
      runFile('fast-retried', { file, plan: fast }),
    );
    assert.equal(result.outcome, 'done');
    assert.equal(runs, 3);
    assert.ok(!calls.includes('releaseFile@main'));
  });
});

describe('pollWorkflow', () => {
  // The polls list on their own task queue, served by the same workers.
  const pollWorkers = (activities: object) => [
    { taskQueue: TASK_QUEUE, activities },
    { taskQueue: pollTaskQueue(TASK_QUEUE), activities },
  ];

  test('starts one file workflow per claim with its deterministic id; a retried start is not a second one', async () => {
    const calls: Calls = [];
    const claims = [file, { ...file, path: 'in/b.csv', workflowId: 'ftp/unit/in/b.csv@1700000000000-10#1' }];
    const listedOn: string[] = [];
    const activities = mockActivities(calls, 'main', {
      listAndClaim: () => {
        listedOn.push(Context.current().info.taskQueue);
        return { listed: 2, filteredOut: {}, skipped: {}, rejected: 0, claims, plan };
      },
    });
    const summary: PollSummary = await withWorkers(pollWorkers(activities), async () => {
      const first = await env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-1',
        args: [pollInputOf('unit')],
      });
      assert.equal(first.started, 2);
      await Promise.all(claims.map((c) => env.client.workflow.getHandle(c.workflowId).result()));
      return env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-2',
        args: [pollInputOf('unit')],
      });
    });
    assert.deepEqual([summary.claimed, summary.started, summary.alreadyStarted], [2, 0, 2]);
    assert.deepEqual(listedOn, [pollTaskQueue(TASK_QUEUE), pollTaskQueue(TASK_QUEUE)], 'listed on the polls queue');
    const described = await env.client.workflow.getHandle(file.workflowId).describe();
    assert.equal(described.typedSearchAttributes.get(FTP_PATH), file.path);
  });

  test('a listing that claims maxAcceptPerPoll lists and claims again in the same run, each with its own poll run', async () => {
    const calls: Calls = [];
    const pollRuns: string[] = [];
    const claimsOf = (n: number): ClaimedFile[] =>
      [0, 1].slice(0, n).map((i) => ({
        ...file,
        path: `loop/${pollRuns.length}-${i}.csv`,
        workflowId: `ftp/unit/loop/${pollRuns.length}-${i}.csv@1700000000000-10#1`,
      }));
    // Two listings at the cap of 2, then one with 1 claim: three listings, five children.
    const sizes = [2, 2, 1];
    const activities = {
      ...mockActivities(calls, 'main'),
      listAndClaim: ({ pollRun }: { pollRun: string }) => {
        const claims = claimsOf(sizes[pollRuns.length] ?? 0);
        pollRuns.push(pollRun);
        return Promise.resolve({
          listed: 5,
          filteredOut: {},
          skipped: {},
          rejected: 0,
          claims,
          plan,
          maxAcceptPerPoll: 2,
        });
      },
    };
    const summary = await withWorkers(pollWorkers(activities), () =>
      env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-loop',
        args: [pollInputOf('unit')],
      }),
    );
    assert.deepEqual([summary.claimed, summary.started, summary.rounds], [5, 5, 2]);
    assert.equal(pollRuns.length, 3);
    assert.equal(new Set(pollRuns).size, 3, 'each listing is its own poll run');
  });

  test('a listing below the cap (nothing new, or maxInFlight reached) is the only one', async () => {
    const calls: Calls = [];
    const activities = mockActivities(calls, 'main', {
      listAndClaim: () => ({
        listed: 9,
        filteredOut: {},
        skipped: { cap: 7 },
        rejected: 0,
        claims: [],
        plan,
        maxAcceptPerPoll: 2,
      }),
    });
    const summary = await withWorkers(pollWorkers(activities), () =>
      env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-empty',
        args: [pollInputOf('unit')],
      }),
    );
    assert.equal(summary.claimed, 0);
    // (Children of earlier tests may still run their last steps on this worker: count the listings only.)
    assert.deepEqual(
      calls.filter((call) => call.startsWith('listAndClaim')),
      ['listAndClaim@main'],
    );
  });

  test('a poll at maxInFlight waits for room, and stops waiting before its Schedule would start the next poll', async () => {
    const intervalMs = 10_000;
    const listedAt: number[] = [];
    const activities = mockActivities([], 'main', {
      listAndClaim: () => {
        listedAt.push(Date.now());
        // Nothing finishes: every round finds the cluster full.
        return {
          listed: 9,
          filteredOut: {},
          skipped: { cap: 9 },
          rejected: 0,
          claims: [],
          plan,
          roomWaitMs: intervalMs,
        };
      },
    });
    const summary = await withWorkers(pollWorkers(activities), async () => {
      // Start just after a multiple of the interval: the poll may wait until 2 s before the next one.
      await sleep(intervalMs - (Date.now() % intervalMs) + 100);
      return env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-room',
        args: [pollInputOf('unit')],
      });
    });
    const nextPoll = (Math.floor(listedAt[0]! / intervalMs) + 1) * intervalMs;
    // Waits of 2 s, 4 s, 8 s (doubling while nothing is claimed), as long as they end 2 s before nextPoll.
    assert.ok((summary.roomWaits ?? 0) >= 1, JSON.stringify(summary));
    assert.equal(listedAt.length, summary.roomWaits! + 1);
    assert.ok(listedAt.at(-1)! < nextPoll - 1_000, 'the last round ran before the next poll was due');
  });

  test('a poll that claimed at its cap past a Schedule time still waits for room until the next one', async () => {
    const intervalMs = 10_000;
    const listedAt: number[] = [];
    let boundaryPassed: number | undefined;
    const activities = mockActivities([], 'main', {
      listAndClaim: () => {
        const now = Date.now();
        listedAt.push(now);
        // At the cap (a backlog) until a Schedule time has passed, then the cluster is full for good.
        const first = listedAt[0]!;
        boundaryPassed ??= now >= (Math.floor(first / intervalMs) + 1) * intervalMs + 500 ? now : undefined;
        const claims =
          boundaryPassed === undefined
            ? [{ ...file, path: `cap/${listedAt.length}.csv`, workflowId: `cap/${listedAt.length}` }]
            : [];
        return {
          listed: 9,
          filteredOut: {},
          skipped: { cap: 9 },
          rejected: 0,
          claims,
          plan,
          maxAcceptPerPoll: 1,
          roomWaitMs: intervalMs,
        };
      },
    });
    const summary = await withWorkers(pollWorkers(activities), async () => {
      // Start 4 s before a multiple of the interval, so the rounds at the cap run past it.
      const untilStart = (intervalMs - (Date.now() % intervalMs) + intervalMs - 4_000) % intervalMs;
      await sleep(untilStart);
      return env.client.workflow.execute(pollWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'poll-room-late',
        args: [pollInputOf('unit')],
      });
    });
    assert.ok(
      boundaryPassed !== undefined,
      `the rounds at the cap ran past a Schedule time: ${JSON.stringify(summary)}`,
    );
    // Measured from its start the deadline had passed: it used to return at the first full round, with no wait.
    assert.ok((summary.roomWaits ?? 0) >= 1, JSON.stringify(summary));
    const nextPoll = (Math.floor(boundaryPassed / intervalMs) + 1) * intervalMs;
    assert.ok(listedAt.at(-1)! < nextPoll - 1_000, 'the last round ran before the next poll was due');
  });
});
