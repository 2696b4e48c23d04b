// `inspect SOURCE PATH`: one file's whole story — its ledger row, its workflows in Temporal (one per claim
// attempt, of every version), its dead letters, and what happens next.
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../../config';
import type { DeadLetter, LedgerRecord, RunStep } from '../../ledger';
import { FTP_STAGE } from '../../shared/search-attributes';
import { pollScheduleState, type PollScheduleState } from '../schedules';
import { sourceFrom, withClient, withLedger } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { formatTime, printable } from '../output';
import { nextStep, waitsForPoll } from '../views';
import type { Action } from './files';

export interface WorkflowRun {
  workflowId: string;
  runId: string;
  status: string;
  stage?: string;
  startTime?: string;
  closeTime?: string;
  url: string;
  /** For a running workflow: its pending activities. */
  pending?: { activity: string; state: string; attempt: number; lastFailure?: string }[];
}

export interface FileStory {
  source: string;
  path: string;
  /** The ledger row (the current version; earlier versions show in the workflow ids and dead letters). */
  record?: LedgerRecord;
  /** IN_PROGRESS: per long step, its runs begun since the step last ended (maxCrashes of them: crash-loop). */
  runs?: Record<RunStep, number>;
  workflows: WorkflowRun[];
  deadLetters: (DeadLetter & { at: string })[];
  next: string;
  /** Set when Temporal could not be asked. */
  temporalError?: string;
}

/** Web UI base: env FTP_INGEST_UI_URL, else the dev server's convention (frontend port + 1000). */
export function webUiBase(config: AppConfig): string {
  const fromEnv = process.env.FTP_INGEST_UI_URL;
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  const match = /^(.*):(\d+)$/.exec(config.temporal.address);
  const host = match?.[1] ?? config.temporal.address;
  return `http://${host}:${match ? Number(match[2]) + 1000 : 8233}`;
}

const quote = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const ACTIVITY_STATES: Record<number, string> = {
  1: 'scheduled',
  2: 'started',
  3: 'cancel-requested',
  4: 'paused',
  5: 'pause-requested',
};

async function workflowsOf(client: Client, config: AppConfig, sourceId: string, path: string): Promise<WorkflowRun[]> {
  const ui = webUiBase(config);
  const query = `FtpSource = ${quote(sourceId)} AND FtpPath = ${quote(path)}`;
  const runs: WorkflowRun[] = [];
  for await (const execution of client.workflow.list({ query })) {
    const run: WorkflowRun = {
      workflowId: execution.workflowId,
      runId: execution.runId,
      status: execution.status.name,
      stage: execution.typedSearchAttributes.get(FTP_STAGE),
      startTime: execution.startTime.toISOString(),
      closeTime: execution.closeTime?.toISOString(),
      url: `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(execution.workflowId)}/${execution.runId}/history`,
    };
    if (execution.status.name === 'RUNNING') {
      const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      run.pending = (description.raw.pendingActivities ?? []).map((p) => ({
        activity: p.activityType?.name ?? '?',
        state: ACTIVITY_STATES[Number(p.state)] ?? String(p.state),
        attempt: p.attempt ?? 1,
        lastFailure: p.lastFailure?.message ?? undefined,
      }));
    }
    runs.push(run);
  }
  return runs.sort((a, b) => (a.startTime ?? '').localeCompare(b.startTime ?? ''));
}

/** The source's poll schedule as `inspect` tells it: 'unknown' when Temporal could not be asked. */
type ScheduleNote = PollScheduleState['state'] | 'unknown';

/** What a step that waits for "the next poll" waits for when no schedule polls the source. */
function pollNote(sourceId: string, schedule: ScheduleNote): string {
  if (schedule === 'none')
    return `; no poll schedule for ${sourceId}: \`ftp-ingest poll -s ${sourceId}\` (or \`schedule create\`)`;
  return schedule === 'paused' ? `; its poll schedule is paused (\`schedule unpause -s ${sourceId}\`)` : '';
}

/** What happens next, from the ledger row and the current attempt's workflow. */
function next(record: LedgerRecord | undefined, workflows: WorkflowRun[], nowMs: number): string {
  if (!record)
    return workflows.length > 0
      ? 'no ledger record (the ledger was reset?)'
      : 'unknown to the ledger: never listed and claimed (check the source filters, or `backfill --dry-run`)';
  if (record.status !== 'IN_PROGRESS') return nextStep(record, nowMs);
  const current = workflows.find((w) => w.workflowId === record.workflowId && w.status === 'RUNNING');
  if (!current) {
    const closed = workflows.find((w) => w.workflowId === record.workflowId);
    const base = nextStep(record, nowMs);
    return closed ? `${base}; its workflow is ${closed.status}` : base;
  }
  const pending = current.pending?.[0];
  if (!pending) return `workflow running, stage ${current.stage ?? '?'}: waiting for a worker to run its next step`;
  if (pending.state === 'scheduled') {
    const failure = pending.lastFailure ? `; last failure: ${printable(pending.lastFailure)}` : '';
    return `waiting for a worker slot: ${pending.activity} scheduled (attempt ${pending.attempt})${failure}`;
  }
  const failure = pending.lastFailure ? `, last failure: ${printable(pending.lastFailure)}` : '';
  return `${pending.activity} running (attempt ${pending.attempt})${failure}; lease until ${formatTime(record.leaseUntil)}`;
}

export const inspectAction: Action<string, FileStory> = async (config, sourceId, path) => {
  const source = sourceFrom(config, sourceId);
  const { record, runs, deadLetters } = await withLedger(config, async (ledger) => {
    const found = await ledger.get(source.id, path);
    const token = found?.status === 'IN_PROGRESS' ? found.token : undefined;
    return {
      record: found,
      runs: token === undefined ? undefined : await ledger.runsInRow(source.id, path, token),
      deadLetters: (await ledger.deadLetters(source.id, 10_000))
        .filter((d) => d.path === path)
        .map((d) => ({ ...d, at: new Date(Number(d.id.split('-')[0])).toISOString() })),
    };
  });
  let workflows: WorkflowRun[] = [];
  let schedule: ScheduleNote = 'unknown';
  let temporalError: string | undefined;
  let exitCode: ExitCode = EXIT.ok;
  try {
    await withClient(config, async (client) => {
      workflows = await workflowsOf(client, config, source.id, path);
      // A note only: a namespace that does not let this user read schedules still gets the file's story.
      schedule = (await pollScheduleState(client, source.id).catch(() => undefined))?.state ?? 'unknown';
    });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    temporalError = err.message;
    exitCode = err.exitCode;
  }
  const now = Date.now();
  const story: FileStory = {
    source: source.id,
    path,
    record,
    ...(runs ? { runs } : {}),
    workflows,
    deadLetters,
    next: next(record, workflows, now) + (record && waitsForPoll(record, now) ? pollNote(source.id, schedule) : ''),
    temporalError,
  };
  if (!record && workflows.length === 0 && exitCode === EXIT.ok) exitCode = EXIT.failed;
  return { data: story, exitCode };
};
