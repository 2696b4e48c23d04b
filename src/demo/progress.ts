import { defaultPayloadConverter, type Client } from '@temporalio/client';
import { ledgerRows, type Ledger, type LedgerRecord, type Status } from '../ledger';
import type { Progress } from '../processors';

/**
 * What a file is doing, as an operator reads it:
 * - `waiting`: claimed, but no worker runs it now (its activity is scheduled and waits for a slot, or the
 *   workflow is between steps), or RETRY_WAIT until its retry time;
 * - `working`: an activity of it runs on a worker now (with heartbeat progress when it reported some);
 * - `done` / `rejected`: final.
 */
export type Phase = 'waiting' | 'working' | 'done' | 'rejected';

export interface FileProgress {
  path: string;
  status: Status;
  tries: number;
  phase: Phase;
  /** Activity pending now (`downloadFile`, `processFile`, …), for IN_PROGRESS files. */
  activity?: string;
  /** Heartbeat progress of that activity. */
  progress?: Progress;
  /** Retry number of the pending activity (1 = first run). */
  activityAttempt?: number;
}

// temporal.api.enums.v1.PendingActivityState
const STARTED = 2;
const CANCEL_REQUESTED = 3;

/** At most this many workflow describes at once: a demo with many files must not flood the dev server. */
const DESCRIBE_CONCURRENCY = 8;

/** The ledger's view of every file, plus the live state and heartbeat progress of the ones in flight. */
export async function readProgress(client: Client, ledger: Ledger, sourceId: string): Promise<FileProgress[]> {
  const records = await ledgerRows(ledger, sourceId, undefined, 10_000);
  return mapLimited(records, DESCRIBE_CONCURRENCY, async (record) => ({
    ...base(record),
    ...(await liveActivity(client, record)),
  }));
}

function base(record: LedgerRecord): FileProgress {
  const phase: Phase = record.status === 'DONE' ? 'done' : record.status === 'REJECTED' ? 'rejected' : 'waiting';
  return { path: record.path, status: record.status, tries: record.tries, phase };
}

async function liveActivity(client: Client, record: LedgerRecord): Promise<Partial<FileProgress>> {
  if (record.status !== 'IN_PROGRESS' || !record.workflowId) return {};
  try {
    const { raw } = await client.workflow.getHandle(record.workflowId).describe();
    const pending = raw.pendingActivities?.[0];
    if (!pending) return {};
    const payload = pending.heartbeatDetails?.payloads?.[0];
    const details = payload ? defaultPayloadConverter.fromPayload<{ progress?: Progress }>(payload) : undefined;
    const state = Number(pending.state ?? 0);
    return {
      phase: state === STARTED || state === CANCEL_REQUESTED ? 'working' : 'waiting',
      activity: pending.activityType?.name ?? undefined,
      progress: details?.progress,
      activityAttempt: pending.attempt ?? undefined,
    };
  } catch {
    return {}; // not started yet, or already closed: the ledger row says enough
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

export interface Counts {
  files: number;
  done: number;
  working: number;
  waiting: number;
  retryWait: number;
  rejected: number;
}

export function countPhases(files: FileProgress[], expected = files.length): Counts {
  const by = (phase: Phase): number => files.filter((f) => f.phase === phase).length;
  const retryWait = files.filter((f) => f.status === 'RETRY_WAIT').length;
  return {
    files: Math.max(expected, files.length),
    done: by('done'),
    working: by('working'),
    // Files not seen by a poll yet wait too.
    waiting: by('waiting') + Math.max(0, expected - files.length),
    retryWait,
    rejected: by('rejected'),
  };
}

/** One line: `12/40 done · 4 working · 22 waiting (2 to retry) · 2 rejected · 31.5 s` */
export function summaryLine(counts: Counts, seconds?: number): string {
  const parts = [
    `${counts.done}/${counts.files} done`,
    `${counts.working} working`,
    `${counts.waiting} waiting${counts.retryWait > 0 ? ` (${counts.retryWait} to retry)` : ''}`,
    `${counts.rejected} rejected`,
  ];
  if (seconds !== undefined) parts.push(`${seconds.toFixed(1)} s`);
  return parts.join(' · ');
}

const BAR_WIDTH = 20;
const ACTIVITY_NAMES: Record<string, string> = {
  downloadFile: 'download',
  processFile: 'process',
  commitFile: 'commit',
  moveFile: 'move',
  releaseFile: 'release',
};

function ratioOf(f: FileProgress): number {
  if (f.phase === 'done') return 1;
  if (f.progress && f.progress.total > 0) return Math.min(1, f.progress.done / f.progress.total);
  return 0;
}

/** One file as a line: phase, bar, path, what it does or waits for. */
export function renderRow(f: FileProgress, columns = 100): string {
  const filled = Math.round(ratioOf(f) * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const step = f.activity ? (ACTIVITY_NAMES[f.activity] ?? f.activity) : undefined;
  let what = '';
  if (f.phase === 'working') {
    what = `${step ?? 'working'}${f.progress ? ` ${f.progress.done}/${f.progress.total} ${f.progress.unit}` : ''}`;
    if ((f.activityAttempt ?? 1) > 1) what += ` (retry ${(f.activityAttempt ?? 1) - 1})`;
  } else if (f.phase === 'waiting') {
    what =
      f.status === 'RETRY_WAIT'
        ? 'waiting to retry'
        : step
          ? `waiting for a worker slot (${step})`
          : 'waiting for the next step';
  } else if (f.phase === 'rejected') {
    what = 'rejected';
  }
  const tries = f.tries > 1 ? ` try ${f.tries}` : '';
  const line = `${f.phase.padEnd(8)} ${bar} ${f.path} ${what}${tries}`;
  return line.length > columns ? `${line.slice(0, Math.max(10, columns - 1))}…` : line;
}

const PHASE_ORDER: Record<Phase, number> = { working: 0, waiting: 1, rejected: 2, done: 3 };

/** Busiest first: working files by progress, then waiting ones (retries first), rejected, done. */
export function busiestFirst(files: FileProgress[]): FileProgress[] {
  return [...files].sort(
    (a, b) =>
      PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] ||
      ratioOf(b) - ratioOf(a) ||
      b.tries - a.tries ||
      a.path.localeCompare(b.path),
  );
}

export interface ViewOptions {
  /** Terminal size; the view never has more lines than `rows - 1`. */
  rows?: number;
  columns?: number;
  /** Files expected in total (the demo's sample count), so files not yet polled count as waiting. */
  expected?: number;
  seconds?: number;
}

/**
 * The live view that fits the terminal: a summary line, the busiest files, and `… N more` with what they are.
 */
export function renderView(files: FileProgress[], options: ViewOptions = {}): string[] {
  const rows = Math.max(3, (options.rows ?? 24) - 1);
  const columns = Math.max(20, options.columns ?? 100);
  const counts = countPhases(files, options.expected);
  const lines = [summaryLine(counts, options.seconds)];
  const sorted = busiestFirst(files);
  const room = rows - 1;
  const shown = sorted.length <= room ? sorted : sorted.slice(0, room - 1);
  for (const f of shown) lines.push(renderRow(f, columns));
  const rest = sorted.slice(shown.length);
  if (rest.length > 0) {
    const more = countPhases(rest);
    const parts = (['working', 'waiting', 'rejected', 'done'] as const)
      .filter((p) => more[p] > 0)
      .map((p) => `${more[p]} ${p}`);
    lines.push(`… ${rest.length} more (${parts.join(', ')})`);
  }
  return lines;
}

/** Kept for callers of the old API: every file, one line each. */
export function renderProgress(files: FileProgress[]): string {
  return busiestFirst(files)
    .map((f) => renderRow(f, 1_000))
    .join('\n');
}

/**
 * For a log file or pipe: the lines worth printing since the last tick (a file that finished, and the summary
 * when it changed). `previous` maps path → phase as printed before; it is updated.
 */
export function plainLines(
  files: FileProgress[],
  previous: Map<string, Phase>,
  lastSummary: { text?: string },
  options: ViewOptions = {},
): string[] {
  const lines: string[] = [];
  for (const f of files) {
    const before = previous.get(f.path);
    if (before !== f.phase && (f.phase === 'done' || f.phase === 'rejected')) {
      lines.push(`${f.phase} ${f.path}${f.tries > 1 ? ` (try ${f.tries})` : ''}`);
    }
    previous.set(f.path, f.phase);
  }
  const summary = summaryLine(countPhases(files, options.expected));
  if (summary !== lastSummary.text) {
    lines.push(options.seconds === undefined ? summary : `${summary} · ${options.seconds.toFixed(1)} s`);
    lastSummary.text = summary;
  }
  return lines;
}
