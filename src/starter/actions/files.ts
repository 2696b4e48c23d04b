// `files` and `status`: a source's ledger rows, filtered, in a stable order (by path), one page at a time.
import type { AppConfig } from '../../config';
import { ledgerRowsWhere, type LedgerRecord, type SourceHealth, type Status } from '../../ledger';
import { selectSources, sourceFrom, withClient, withLedger } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { pollScheduleState, type PollScheduleState } from '../schedules';

export interface FilesQuery {
  statuses?: Status[];
  globs?: string[];
  limit: number;
  offset: number;
}

export interface FilesPage {
  source: string;
  /** Rows that match the query. */
  total: number;
  offset: number;
  files: LedgerRecord[];
  /** Matching rows after this page. */
  more: number;
}

export interface StatusOfSource extends FilesPage {
  counts: Record<Status, number>;
  /** The source's last polls (absent before its first): a source whose every poll fails has no files to show. */
  health?: SourceHealth;
  /**
   * Set when no poll has been recorded for much longer than the source's pollInterval: since the last one, or for a
   * source never polled, since its active schedule was created; and for a source never polled that has no schedule.
   */
  late?: PollLateness;
}

/** A source whose polls stopped, and what its schedule says about why. */
export interface PollLateness {
  /**
   * Since the last recorded poll (Redis time), or for a source never polled since its schedule was created (Temporal's
   * time against Redis's: a skew between the two servers moves it). Absent for a source never polled without a
   * schedule: nothing to count from, and nothing will poll it.
   */
  sinceMs?: number;
  everyMs: number;
  /** 'unknown': Temporal could not be asked. */
  schedule: PollScheduleState['state'] | 'unknown';
  runningPoll?: PollScheduleState['runningPoll'];
  /** No poll of the source was ever recorded: `sinceMs` counts from its schedule's creation. */
  neverPolled?: true;
}

/**
 * Polls count as stopped after five intervals and two minutes without one: a poll that lists a large directory,
 * or waits for room under maxInFlight, delays the next one (the schedule skips overlaps) but not that much.
 */
const lateAfterMs = (everyMs: number): number => 5 * everyMs + 120_000;

type ScheduleState = Pick<PollLateness, 'schedule' | 'runningPoll'> & Pick<PollScheduleState, 'createdAtMs'>;

/**
 * What Temporal says of a source's poll schedule, asked once per source at most; once Temporal is found unreachable
 * the other sources are not asked again (each ask would wait for the connect timeout).
 */
function scheduleAsker(config: AppConfig): (sourceId: string) => Promise<ScheduleState> {
  let reachable = true;
  return async (sourceId) => {
    if (!reachable) return { schedule: 'unknown' };
    try {
      const { state, ...rest } = await withClient(config, (client) => pollScheduleState(client, sourceId));
      return { schedule: state, ...rest };
    } catch {
      reachable = false;
      return { schedule: 'unknown' };
    }
  };
}

/** Whether a source's polls stopped, and what its schedule says about why (undefined: not late). */
async function latenessOf(
  askSchedule: (sourceId: string) => Promise<ScheduleState>,
  sourceId: string,
  everyMs: number,
  health: SourceHealth | undefined,
  now: number,
): Promise<PollLateness | undefined> {
  if (health) {
    const sinceMs = now - health.lastPollAt;
    if (sinceMs <= lateAfterMs(everyMs)) return undefined;
    const { createdAtMs: _, ...state } = await askSchedule(sourceId);
    return { sinceMs, everyMs, ...state };
  }
  return neverPolledLateness(await askSchedule(sourceId), everyMs, now);
}

/**
 * A source never polled is late once its schedule has been active that long without a poll recorded (no worker
 * ever ran its polls, or none reaches Redis): a schedule created lately is not. Without a schedule it is late at
 * once: nothing will ever poll it (a configured source whose `schedule create` was forgotten, or whose schedule was
 * deleted); so it is when Temporal cannot be asked (a wrong `temporal.address` in a new deployment). (A ledger
 * emptied while polls run looks late until the next poll records itself.)
 */
export function neverPolledLateness(state: ScheduleState, everyMs: number, now: number): PollLateness | undefined {
  const { createdAtMs, ...rest } = state;
  // No schedule, or Temporal not reachable to tell: nothing says that anything will ever poll it.
  if (state.schedule === 'none' || state.schedule === 'unknown') return { everyMs, ...rest, neverPolled: true };
  if (state.schedule !== 'active' || createdAtMs === undefined) return undefined;
  const sinceMs = now - createdAtMs;
  return sinceMs > lateAfterMs(everyMs) ? { sinceMs, everyMs, ...rest, neverPolled: true } : undefined;
}

export interface ActionResult<T> {
  data: T;
  exitCode: ExitCode;
}

/**
 * What a command calls (src/starter/commands/*): the config, the source it is about (`undefined`: every source where
 * `S` allows it) and its parsed options, to data to print and the exit code.
 */
export type Action<O, T, S extends string | undefined = string> = (
  config: AppConfig,
  sourceId: S,
  options: O,
) => Promise<ActionResult<T>>;

export const filesAction: Action<FilesQuery, FilesPage> = async (config, sourceId, query) => {
  const source = sourceFrom(config, sourceId);
  return withLedger(config, async (ledger) => {
    const rows = await ledgerRowsWhere(ledger, source.id, { statuses: query.statuses, globs: query.globs });
    return { data: page(source.id, rows, query), exitCode: EXIT.ok };
  });
};

export const statusAction: Action<FilesQuery, StatusOfSource[], string | undefined> = async (
  config,
  sourceId,
  query,
) => {
  const sources = selectSources(config, sourceId);
  return withLedger(config, async (ledger) => {
    const out: StatusOfSource[] = [];
    const now = await ledger.now();
    const askSchedule = scheduleAsker(config);
    for (const source of sources) {
      const counts = await ledger.counts(source.id);
      const health = await ledger.health(source.id);
      const rows = await ledgerRowsWhere(ledger, source.id, { statuses: query.statuses, globs: query.globs });
      const lateAfter = lateAfterMs(source.pollIntervalMs);
      for (const entry of health?.failingWorkflows ?? []) if (now - entry.at > lateAfter) entry.stale = true;
      const late = await latenessOf(askSchedule, source.id, source.pollIntervalMs, health, now);
      out.push({ counts, ...(health ? { health } : {}), ...(late ? { late } : {}), ...page(source.id, rows, query) });
    }
    // A source whose last poll failed, whose polls stopped (unless its schedule is paused), or whose file workflows'
    // tasks keep failing, is an item that failed: scripts that watch `status` see it in the exit code.
    const failed = out.some(
      (s) =>
        s.health?.ok === false ||
        s.health?.failingWorkflows?.some((entry) => !entry.stale) === true ||
        (s.late !== undefined && s.late.schedule !== 'paused'),
    );
    return { data: out, exitCode: failed ? EXIT.failed : EXIT.ok };
  });
};

function page(source: string, rows: LedgerRecord[], query: FilesQuery): FilesPage {
  const files = rows.slice(query.offset, query.offset + query.limit);
  return {
    source,
    total: rows.length,
    offset: query.offset,
    files,
    more: Math.max(0, rows.length - query.offset - files.length),
  };
}

/** "… 120 more (--offset 50)" */
export function moreHint(p: FilesPage): string | undefined {
  if (p.more === 0) return undefined;
  return `… ${p.more} more of ${p.total} (add --offset ${p.offset + p.files.length}, or a larger --limit)`;
}
