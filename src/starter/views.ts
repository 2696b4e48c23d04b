// How ledger records look to people (table rows) and to scripts (JSON with ISO times).
import type { LedgerRecord, SourceHealth, Status } from '../ledger';
import type { PollLateness } from './actions/files';
import { formatBytes, formatSpan, formatTime, isoTime, printable, relative, table } from './output';

const TIME_FIELDS = ['leaseUntil', 'retryAt', 'lastTryAt', 'doneAt', 'rejectedAt', 'mtimeMs'] as const;

/** A record for --json: times as ISO 8601 (`mtime`, `leaseUntil`, …), the result parsed when it is JSON. */
export function recordJson(record: LedgerRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const field of TIME_FIELDS) {
    if (record[field] === undefined) continue;
    delete out[field];
    out[field === 'mtimeMs' ? 'mtime' : field] = isoTime(record[field]);
  }
  if (record.result !== undefined) {
    try {
      out.result = JSON.parse(record.result) as unknown;
    } catch {
      // kept as text
    }
  }
  return out;
}

/** Whether what happens next to the file is a poll's claim: a retry due, or a lease that ended. */
export function waitsForPoll(record: LedgerRecord, nowMs = Date.now()): boolean {
  const leaseEnded = record.leaseUntil !== undefined && record.leaseUntil < nowMs;
  return record.status === 'RETRY_WAIT' || (record.status === 'IN_PROGRESS' && leaseEnded);
}

/** What happens next to a file, from its record alone (inspect adds what Temporal knows). */
export function nextStep(record: LedgerRecord, nowMs = Date.now()): string {
  switch (record.status) {
    case 'DONE':
      return `done ${record.doneAt ? relative(record.doneAt, nowMs) : ''}`.trim();
    case 'REJECTED':
      return `REJECTED: ${printable(record.error ?? 'no reason recorded')}`;
    case 'RETRY_WAIT':
      return record.retryAt && record.retryAt > nowMs
        ? `retried by the first poll after ${formatTime(record.retryAt)} (${relative(record.retryAt, nowMs)})${record.error ? `; last error: ${printable(record.error)}` : ''}`
        : `due now: the next poll claims it${record.error ? `; last error: ${printable(record.error)}` : ''}`;
    case 'IN_PROGRESS':
      return record.leaseUntil && record.leaseUntil < nowMs
        ? `lease expired ${relative(record.leaseUntil, nowMs)}: the next poll claims it again`
        : `in progress on ${record.owner ?? '?'}, lease ${record.leaseUntil ? relative(record.leaseUntil, nowMs) : '?'}`;
  }
}

function short(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The note column of a file row: error, retry time, lease, or the stored result. */
function noteOf(record: LedgerRecord, nowMs: number): string {
  if (record.status === 'DONE') return record.result ? short(record.result) : '';
  return short(nextStep(record, nowMs), 100);
}

/** Rows of ledger records as an aligned table. */
export function recordTable(records: readonly LedgerRecord[], nowMs = Date.now()): string[] {
  return table(
    ['STATUS', 'TRIES', 'PATH', 'MODIFIED', 'SIZE', 'UPDATED', 'OWNER', 'WORKFLOW', 'NOTE'],
    records.map((r) => [
      r.status,
      String(r.tries),
      printable(r.path),
      formatTime(r.mtimeMs),
      formatBytes(r.size),
      formatTime(r.doneAt ?? r.lastTryAt),
      r.owner ?? '-',
      r.workflowId ?? '-',
      noteOf(r, nowMs),
    ]),
  );
}

export function countsLine(sourceId: string, counts: Record<Status, number>): string {
  const summary = (Object.keys(counts) as Status[]).map((s) => `${s}=${counts[s]}`).join(' ');
  return `source ${sourceId}: ${summary}`;
}

/** One line per cluster whose file workflows of the source have failing workflow tasks: they wait for a fix. */
export function failingWorkflowLines(health: SourceHealth | undefined): string[] {
  return (health?.failingWorkflows ?? []).map(({ cluster, count, example, at, stale }) =>
    stale
      ? `${count} file workflow(s) of cluster ${cluster} had failing workflow tasks when its polls last counted them ` +
        `(${formatTime(at)}); it has not polled since, so other clusters take their files over after the lease`
      : `${count} file workflow(s) of cluster ${cluster} have failing workflow tasks (seen ${formatTime(at)}), e.g. ` +
        `${example}: their files wait until fixed workers run them (Web UI: TemporalReportedProblems IS NOT NULL)`,
  );
}

/** Why a source's polls stopped, as far as its schedule tells. */
export function lateLine(sourceId: string, late: PollLateness | undefined): string[] {
  if (!late) return [];
  const every = `every ${formatSpan(late.everyMs)} expected`;
  const none =
    late.sinceMs === undefined
      ? 'no poll recorded yet'
      : late.neverPolled
        ? `no poll recorded yet, ${formatSpan(late.sinceMs)} after its schedule was created (${every})`
        : `no poll for ${formatSpan(late.sinceMs)} (${every})`;
  switch (late.schedule) {
    case 'paused':
      return [`${none}: its poll schedule is paused`];
    case 'none':
      return [`LATE: ${none} and no poll schedule: \`ftp-ingest schedule create -s ${sourceId}\``];
    case 'unknown':
      return [`LATE: ${none}; Temporal could not be asked about its schedule`];
    case 'active':
      return [
        late.runningPoll
          ? `LATE: ${none}: poll ${late.runningPoll} still runs (stuck? see it in the Web UI); its schedule skips the next ones until it ends`
          : `LATE: ${none} though its poll schedule is active: do workers run on the task queue?`,
      ];
  }
}

/** "last poll 12:00:03 FAILED: <reason> (last ok: never)" or "last poll 12:00:03 ok, 40 listed". */
export function healthLine(health: SourceHealth | undefined): string {
  if (!health) return 'last poll: none yet';
  const at = `last poll ${formatTime(health.lastPollAt)}`;
  if (health.ok) return `${at} ok, ${health.listed ?? 0} listed`;
  const lastOk = health.lastOkAt === undefined ? 'never' : formatTime(health.lastOkAt);
  return `${at} FAILED: ${health.error ?? 'unknown error'} (last ok: ${lastOk})`;
}
