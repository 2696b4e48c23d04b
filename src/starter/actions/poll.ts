// `poll`: one poll now, outside the schedule. The FTP server is checked first (seconds, not a silent hang),
// and a poll whose listing keeps failing, or that no worker takes, is stopped and reported.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { AppConfig, SourceConfig } from '../../config';
import { pollWorkflow } from '../../workflows';
import { pollInputOf } from '../../shared/patch-level';
import { FTP_KIND, FTP_SOURCE } from '../../shared/search-attributes';
import type { PollSummary } from '../../shared/types';
import { selectSources, withClient } from '../context';
import { CliError, EXIT, shortReason, toCliError, unreachableError, type ExitCode } from '../errors';
import { checkSource } from '../ftp';
import type { Action } from './files';

export interface PollOutcome {
  source: string;
  ok: boolean;
  summary?: PollSummary;
  /** The poll's workflow id when it still ran at --wait (a worker runs it: a backlog's rounds take longer). */
  running?: string;
  error?: string;
  exitCode: ExitCode;
}

export interface PollOptions {
  /** How long to wait for a worker to finish the poll. */
  waitMs: number;
}

export const pollAction: Action<PollOptions, PollOutcome[], string | undefined> = async (config, sourceId, options) => {
  const sources = selectSources(config, sourceId);
  const outcomes: PollOutcome[] = [];
  for (const source of sources) {
    try {
      await checkSource(source);
      const polled = await withClient(config, (client) => runPoll(client, config, source, options));
      outcomes.push({ source: source.id, ok: true, ...polled, exitCode: EXIT.ok });
    } catch (err) {
      const cliError = toCliError(err);
      // A single source: the command fails with this error (and its stack under --verbose).
      if (sources.length === 1) throw cliError;
      outcomes.push({ source: source.id, ok: false, error: cliError.message, exitCode: cliError.exitCode });
    }
  }
  const exitCode = Math.max(EXIT.ok, ...outcomes.map((o) => o.exitCode)) as ExitCode;
  return { data: outcomes, exitCode };
};

async function runPoll(
  client: Client,
  config: AppConfig,
  source: SourceConfig,
  options: PollOptions,
): Promise<{ summary: PollSummary } | { running: string }> {
  const handle = await client.workflow.start(pollWorkflow, {
    taskQueue: config.temporal.taskQueue,
    workflowId: `ftp-poll/${source.id}/manual-${new Date().toISOString()}`,
    args: [pollInputOf(source.id)],
    typedSearchAttributes: [
      { key: FTP_KIND, value: 'poll' },
      { key: FTP_SOURCE, value: source.id },
    ],
  });
  const result = handle.result().catch((err: unknown) => {
    if (!(err instanceof WorkflowFailedError)) throw err;
    // The poll's own reason (bad login, missing directory), not "Workflow execution failed".
    let deepest: Error = err;
    while (deepest.cause instanceof Error) deepest = deepest.cause;
    throw new CliError(`poll of source ${source.id} failed: ${shortReason(deepest)}`, EXIT.failed, { cause: err });
  });
  result.catch(() => undefined);
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const done = await Promise.race([result.then(() => true), sleep(1_000).then(() => false)]);
    if (done) return { summary: await result };
    const failing = await listingFailure(handle);
    if (failing) {
      await stop(handle, `listing failed: ${failing}`);
      throw new CliError(
        `poll of source ${source.id} stopped, its listing keeps failing: ${failing}`,
        EXIT.unreachable,
      );
    }
    if (Date.now() > deadline) {
      // A worker runs it (a backlog claimed in rounds, a wait for room under maxInFlight): it goes on.
      if (await workerTookIt(handle)) return { running: handle.workflowId };
      await stop(handle, 'no worker finished the poll in time');
      throw unreachableError(
        `poll of source ${source.id} did not finish within ${Math.round(options.waitMs / 1000)}s; is a worker running on task queue ${config.temporal.taskQueue} (temporal.taskQueue)? The poll was stopped.`,
      );
    }
  }
}

/** The last failure of the poll's listing activity once it has been retried. */
async function listingFailure(handle: WorkflowHandle): Promise<string | undefined> {
  const description = await handle.describe();
  for (const pending of description.raw.pendingActivities ?? []) {
    if ((pending.attempt ?? 0) >= 2 && pending.lastFailure?.message) return shortReason(pending.lastFailure.message);
  }
  return undefined;
}

/** A worker completed at least one of the poll's workflow tasks (started, scheduled, started, completed). */
async function workerTookIt(handle: WorkflowHandle): Promise<boolean> {
  const description = await handle.describe().catch(() => undefined);
  return (description?.historyLength ?? 0) > 3;
}

async function stop(handle: WorkflowHandle, reason: string): Promise<void> {
  await handle.terminate(`ftp-ingest poll: ${reason}`).catch(() => undefined);
}
