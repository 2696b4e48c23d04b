// Building blocks of the single-cluster fault scenarios (random kills, Redis down, Temporal restart): a file
// set of varied sizes, polling that survives the outage under test, waiting that tolerates it, and evidence
// from Temporal's own histories of which activities a fault interrupted.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { sha256 } from './faults';
import type { ManagedChild } from '../../src/stack/child';
import { pollInputOf } from '../../src/shared/patch-level';
import { pollWorkflow } from '../../src/workflows';
import type { Pipeline } from './pipeline';
import { publishedPaths } from './published';

export interface TestFile {
  name: string;
  content: Buffer;
  sha256: string;
}

/**
 * `count` files of sizes spread log-uniformly between `minBytes` and `maxBytes` (a fixed spread, in a shuffled
 * order; random content).
 */
export function makeFiles(
  count: number,
  { minBytes = 1, maxBytes = 256 * 1024 }: { minBytes?: number; maxBytes?: number } = {},
): TestFile[] {
  return Array.from({ length: count }, (_, i) => {
    const fraction = count === 1 ? 1 : ((i * 7919) % count) / (count - 1);
    const content = randomBytes(Math.round(minBytes * Math.pow(maxBytes / minBytes, fraction)));
    return { name: `f-${String(i).padStart(4, '0')}.bin`, content, sha256: sha256(content) };
  });
}

/** Puts files on the FTP server and records them in `expected` (path → sha-256). */
export function putFiles(
  pipeline: Pipeline,
  sourceId: string,
  files: TestFile[],
  expected = new Map<string, string>(),
): Map<string, string> {
  for (const file of files) {
    pipeline.putRemote(sourceId, file.name, file.content);
    expected.set(file.name, file.sha256);
  }
  return expected;
}

/** A `command` processor that logs each run, takes `seconds`, and prints the file's sha-256 (see countingProcessor). */
export function slowCountingProcessor(logFile: string, seconds: number): Record<string, unknown> {
  const script = `echo "$FTP_INGEST_PATH $FTP_INGEST_TOKEN" >> "$0"; sleep ${seconds}; sha256sum "$1" | cut -d " " -f 1`;
  return { name: 'command', options: { command: ['sh', '-c', script, logFile, '{file}'] } };
}

export interface Polling {
  /** `startPending`: claims whose child the server had not started when their poll stopped waiting. */
  readonly stats: { started: number; finished: number; failed: number; claimed: number; startPending: number };
  /** Stops polling; polls still running (stuck behind a killed listing, say) are terminated. */
  stop(): Promise<void>;
}

/**
 * Starts a poll of the source every `everyMs`, with at most `maxOutstanding` running at once. A poll that fails
 * or hangs because a server is away never fails the test: it is counted, and polling goes on. (Polls of one
 * source may overlap; the ledger keeps them from claiming a file twice.)
 */
export function keepPolling(
  pipeline: Pipeline,
  sourceId: string,
  { everyMs = 1_000, maxOutstanding = 3 }: { everyMs?: number; maxOutstanding?: number } = {},
): Polling {
  const stats = { started: 0, finished: 0, failed: 0, claimed: 0, startPending: 0 };
  const outstanding = new Map<string, Promise<void>>();
  let stopped = false;
  let seq = 0;
  const pollOnce = async (workflowId: string): Promise<void> => {
    try {
      const handle = await pipeline.client.workflow.start(pollWorkflow, {
        taskQueue: pipeline.config.temporal.taskQueue,
        workflowId,
        args: [pollInputOf(sourceId)],
      });
      const summary = await handle.result();
      stats.finished++;
      stats.claimed += summary.claimed;
      stats.startPending += summary.startPending ?? 0;
    } catch {
      stats.failed++;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      if (outstanding.size < maxOutstanding) {
        stats.started++;
        const workflowId = `fault-poll/${sourceId}/${Date.now()}-${++seq}`;
        const run = pollOnce(workflowId).finally(() => outstanding.delete(workflowId));
        outstanding.set(workflowId, run);
      }
      await sleep(everyMs);
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    stats,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        await loop;
        await Promise.all(
          [...outstanding.keys()].map((id) =>
            pipeline.client.workflow
              .getHandle(id)
              .terminate('fault scenario over')
              .catch(() => undefined),
          ),
        );
        await Promise.all(outstanding.values());
      })();
      return stopping;
    },
  };
}

/** A progress line on stderr when FAULTS_VERBOSE is set (the spec reporter shows diagnostics only at the end). */
export function progress(message: string): void {
  if (process.env.FAULTS_VERBOSE) process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

export interface PoolWorker {
  name: string;
  child: ManagedChild;
  /** Resolves when the worker logged that it started (ms after the spawn); never rejects. */
  ready: Promise<number>;
  readyAt?: number;
}

/** `ftp-ingest worker` as a child process, with a promise for the moment it is up and polling. */
export async function spawnPoolWorker(pipeline: Pipeline, name: string): Promise<PoolWorker> {
  const spawnedAt = Date.now();
  const child = await pipeline.spawnWorker(name);
  const logFile = path.join(pipeline.dataDir, `${name}.log`);
  const worker: PoolWorker = { name, child, ready: Promise.resolve(0) };
  worker.ready = (async () => {
    while (child.process.exitCode === null && child.process.signalCode === null) {
      // Never rejects (callers may not observe it): a log that is not there (yet, or any more) is "not yet".
      const log = readIfThere(logFile);
      if (log.includes('worker started')) {
        worker.readyAt = Date.now();
        return worker.readyAt - spawnedAt;
      }
      await sleep(50);
    }
    return -1;
  })();
  return worker;
}

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls `probe` until it returns a value; errors (a server that is away) count as "not yet". */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

/** Paths of the expected files that are DONE in the ledger and whose output is in processedDir. */
export async function finished(pipeline: Pipeline, sourceId: string, expected: Map<string, string>): Promise<number> {
  const done = new Set<string>();
  let cursor = '0';
  do {
    const page = await pipeline.ledger.list(sourceId, { cursor, count: 1000, status: 'DONE' });
    for (const record of page.records) done.add(record.path);
    cursor = page.cursor;
  } while (cursor !== '0');
  let count = 0;
  for (const file of expected.keys()) {
    if (done.has(file) && fs.existsSync(pipeline.processed(sourceId, file))) count++;
  }
  return count;
}

/**
 * Waits until every expected file is DONE and moved; tolerates servers that are away meanwhile. Fails early once
 * the only files left are REJECTED (they would never finish), with the attempts of a few of them.
 */
export async function waitAllFinished(
  pipeline: Pipeline,
  sourceId: string,
  expected: Map<string, string>,
  timeoutMs: number,
): Promise<void> {
  let last = 0;
  let rejected: string[] = [];
  try {
    const ended = await waitUntil(
      `all ${expected.size} files DONE and moved`,
      async () => {
        const now = await finished(pipeline, sourceId, expected);
        if (now !== last) progress(`finished ${now}/${expected.size}`);
        last = now;
        if (last === expected.size) return 'finished';
        const letters = await pipeline.ledger.deadLetters(sourceId);
        rejected = [...new Set(letters.map((letter) => letter.path).filter((file) => expected.has(file)))];
        // An error here would only count as "not yet" (waitUntil): the REJECTED end is a value.
        return last + rejected.length >= expected.size ? 'rejected' : undefined;
      },
      timeoutMs,
      250,
    );
    if (ended === 'rejected') throw new Error(`${rejected.length} of ${expected.size} files REJECTED`);
  } catch (err) {
    const counts = await pipeline.ledger.counts(sourceId).catch(() => undefined);
    const reasons: Record<string, number> = {};
    for (const letter of await pipeline.ledger.deadLetters(sourceId).catch(() => [])) {
      reasons[letter.error] = (reasons[letter.error] ?? 0) + 1;
    }
    const traces = await Promise.all(rejected.slice(0, 3).map((file) => attemptsOf(pipeline, file)));
    throw new Error(
      `${(err as Error).message} (finished ${last}; ledger ${JSON.stringify(counts)}; dead letters ${JSON.stringify(reasons)})${traces.join('')}`,
    );
  }
}

/** Each attempt's workflow of a file: when it started, when its first activity began, how it ended. */
async function attemptsOf(pipeline: Pipeline, file: string): Promise<string> {
  const lines = [`\n${file}:`];
  const query = `WorkflowType = "fileWorkflow" AND FtpPath = "${file}"`;
  for await (const execution of pipeline.client.workflow.list({ query })) {
    const history = await pipeline.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const started = history.events?.find((event) => event.activityTaskStartedEventAttributes);
    const at = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): string =>
      time ? new Date(Number(time.seconds) * 1000 + (time.nanos ?? 0) / 1e6).toISOString().slice(11, 23) : '-';
    lines.push(
      `  ${execution.workflowId} ${execution.status.name} started ${execution.startTime.toISOString().slice(11, 23)}` +
        ` first activity ${at(started?.eventTime)} closed ${execution.closeTime?.toISOString().slice(11, 23) ?? '-'}`,
    );
  }
  return lines.join('\n');
}

/** Remote paths whose output is present under processedDir/<source> now. */
export function outputsNow(pipeline: Pipeline, sourceId: string): Set<string> {
  return new Set(publishedPaths(pipeline.processed(sourceId, '')));
}

/** Per activity type: runs that were retried, by the kind of failure of the run before. */
export type Interruptions = Record<string, Record<string, number>>;

export interface WorkflowTally {
  workflows: number;
  /** Workflow executions by status (COMPLETED, FAILED, RUNNING, ...). */
  statuses: Record<string, number>;
  /** fileWorkflow results by outcome (done, superseded, released, rejected). */
  outcomes: Record<string, number>;
  interruptions: Interruptions;
  /** Workflow tasks that timed out, by timeout type (a schedule-to-start one waited on a dead worker's sticky queue). */
  workflowTaskTimeouts: Record<string, number>;
  /** Why file attempts ended superseded (the ClaimLost message). */
  superseded: Record<string, number>;
}

/**
 * Reads the histories (and, for running workflows, the pending activities) of every workflow of the test's task
 * queue: which activities ran more than once, and what ended the run before (a heartbeat or start-to-close
 * timeout is a killed worker; an application failure is an error such as Redis being away).
 */
export async function tallyWorkflows(
  client: Client,
  taskQueue: string,
  /** Worker identities (`pid@host`) of killed workers: a run they started and still hold is counted too. */
  deadWorkers: Set<string> = new Set(),
): Promise<WorkflowTally> {
  const tally: WorkflowTally = {
    workflows: 0,
    statuses: {},
    outcomes: {},
    interruptions: {},
    workflowTaskTimeouts: {},
    superseded: {},
  };
  const bump = (record: Record<string, number>, key: string): void => {
    record[key] = (record[key] ?? 0) + 1;
  };
  const interrupted = (activity: string, failure: temporal.api.failure.v1.IFailure | null | undefined): void => {
    bump((tally.interruptions[activity] ??= {}), failureKind(failure));
  };
  const executions: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    executions.push(execution);
  }
  for (const execution of executions) {
    tally.workflows++;
    bump(tally.statuses, execution.status.name);
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
    const history = await handle.fetchHistory();
    const typeOf = new Map<string, string>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '?');
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        interrupted(typeOf.get(String(started.scheduledEventId)) ?? '?', started.lastFailure);
      }
      const taskTimedOut = event.workflowTaskTimedOutEventAttributes;
      if (taskTimedOut)
        bump(
          tally.workflowTaskTimeouts,
          Number(taskTimedOut.timeoutType) === 2 ? 'schedule-to-start' : 'start-to-close',
        );
      const completed = event.workflowExecutionCompletedEventAttributes;
      // A REJECTED file's workflow fails with its result as the failure's details.
      const failed = event.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.details;
      const payload = completed ? completed.result?.payloads?.[0] : failed?.payloads?.[0];
      if ((completed || failed) && execution.type === 'fileWorkflow') {
        const result = decodeResult(client, payload);
        bump(tally.outcomes, result?.outcome ?? '?');
        if (result?.outcome === 'superseded') bump(tally.superseded, result.error ?? '?');
      }
    }
    if (execution.status.name === 'RUNNING') {
      const { raw } = await handle.describe();
      for (const pending of raw.pendingActivities ?? []) {
        const type = pending.activityType?.name ?? '?';
        if (pending.lastWorkerIdentity && deadWorkers.has(pending.lastWorkerIdentity)) {
          bump((tally.interruptions[type] ??= {}), 'pending:on-killed-worker');
        } else if ((pending.attempt ?? 1) > 1) {
          interrupted(type, pending.lastFailure);
        }
      }
    }
  }
  return tally;
}

function failureKind(failure: temporal.api.failure.v1.IFailure | null | undefined): string {
  if (!failure) return 'unknown';
  const timeout = failure.timeoutFailureInfo;
  if (timeout) {
    // TimeoutType: 1 start-to-close, 2 schedule-to-start, 3 schedule-to-close, 4 heartbeat
    const names: Record<number, string> = {
      1: 'start-to-close',
      2: 'schedule-to-start',
      3: 'schedule-to-close',
      4: 'heartbeat',
    };
    return `timeout:${names[Number(timeout.timeoutType)] ?? String(timeout.timeoutType)}`;
  }
  const app = failure.applicationFailureInfo;
  if (app) return `error:${app.type || 'Error'}`;
  return 'other';
}

function decodeResult(
  client: Client,
  payload: temporal.api.common.v1.IPayload | null | undefined,
): { outcome?: string; error?: string } | undefined {
  if (!payload) return undefined;
  return client.options.loadedDataConverter.payloadConverter.fromPayload<{ outcome?: string; error?: string }>(payload);
}

/** Activity types → total retried runs, for a one-line diagnostic. */
export function summarizeInterruptions(interruptions: Interruptions): string {
  return Object.entries(interruptions)
    .map(
      ([activity, kinds]) =>
        `${activity} ${Object.entries(kinds)
          .map(([k, n]) => `${k}=${n}`)
          .join(',')}`,
    )
    .join('; ');
}
