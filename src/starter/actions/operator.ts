// retry / reprocess / dead-letters: operator transitions on files chosen by path or glob, one result per file.
import { goneOf } from '../../activities/remote-version';
import type { AppConfig, SourceConfig } from '../../config';
import {
  ledgerRowsWhere,
  pathMatcher,
  type DeadLetter,
  type Ledger,
  type LedgerRecord,
  type OperatorResult,
  type Status,
} from '../../ledger';
import { sourceFrom, withLedger } from '../context';
import { EXIT } from '../errors';
import { withSourceSession } from '../ftp';
import type { ActionResult } from './files';

export interface ItemResult {
  path: string;
  ok: boolean;
  /** The file's status after the call (or as it is, when refused). */
  status?: Status;
  /** Why it was refused, or which glob matched nothing. */
  reason?: string;
}

export interface BatchResult {
  source: string;
  action: 'retry' | 'reprocess';
  results: ItemResult[];
  ok: number;
  failed: number;
}

type Transition = (ledger: Ledger, sourceId: string, path: string) => Promise<OperatorResult>;

const ACTIONS: Record<BatchResult['action'], { from: Status[]; run: Transition; refused: string }> = {
  retry: {
    from: ['REJECTED'],
    run: (ledger, sourceId, path) => ledger.retryRejected(sourceId, path),
    refused: 'not REJECTED (only REJECTED files get new tries; see `reprocess` for DONE files)',
  },
  reprocess: {
    from: ['DONE', 'REJECTED'],
    run: (ledger, sourceId, path) => ledger.reprocess(sourceId, path),
    refused: 'not DONE or REJECTED (it is still being worked on)',
  },
};

/**
 * Applies `retry` or `reprocess` to every ledger file that matches one of `patterns` (exact paths or globs),
 * or to every REJECTED file (`all`). A pattern that names no file, and a file in the wrong status, are failures;
 * `all` with no REJECTED file is not.
 */
export async function operatorAction(
  config: AppConfig,
  action: BatchResult['action'],
  sourceId: string,
  patterns: string[],
  all: boolean,
): Promise<ActionResult<BatchResult>> {
  const source = sourceFrom(config, sourceId);
  const spec = ACTIONS[action];
  return withLedger(config, async (ledger) => {
    const results: ItemResult[] = [];
    const rows = await ledgerRowsWhere(ledger, source.id, {});
    const chosen = new Map<string, LedgerRecord>();
    if (all) for (const row of rows) if (spec.from.includes(row.status)) chosen.set(row.path, row);
    for (const pattern of patterns) {
      const matches = pathMatcher([pattern]);
      const hits = rows.filter((row) => matches(row.path));
      const eligible = hits.filter((row) => spec.from.includes(row.status));
      for (const row of eligible) chosen.set(row.path, row);
      if (eligible.length > 0) continue;
      // A pattern that picks nothing is named: a missing path, or paths in another status.
      if (hits.length === 0) results.push({ path: pattern, ok: false, reason: 'no file in the ledger matches' });
      for (const row of hits)
        results.push({ path: row.path, ok: false, status: row.status, reason: `${row.status}: ${spec.refused}` });
    }
    const gone = action === 'reprocess' ? await goneFromServer(source, [...chosen.keys()]) : new Set<string>();
    for (const path of [...chosen.keys()].sort()) {
      if (gone.has(path)) {
        // Reprocessing it would only end REJECTED `vanished` after vanishAfter, and lose its DONE record's result.
        const reason = 'no longer on the server (deleted or moved by the remote action?): nothing to reprocess';
        results.push({ path, ok: false, status: chosen.get(path)?.status, reason });
        continue;
      }
      const reply = await spec.run(ledger, source.id, path);
      results.push(
        reply.ok
          ? { path, ok: true, status: reply.record.status }
          : {
              path,
              ok: false,
              status: reply.record?.status,
              reason:
                reply.reason === 'missing'
                  ? 'no ledger record'
                  : `${reply.record?.status ?? reply.reason}: ${spec.refused}`,
            },
      );
    }
    const failed = results.filter((r) => !r.ok).length;
    const data = { source: source.id, action, results, ok: results.length - failed, failed };
    // --all-rejected on a source with nothing REJECTED has nothing to do: not a failure (a nightly job's clean run).
    return { data, exitCode: failed > 0 ? EXIT.failed : EXIT.ok };
  });
}

/** The paths the source's server says it no longer has. */
async function goneFromServer(source: SourceConfig, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  return new Set(await withSourceSession(source, (session) => goneOf(session, source, paths)));
}

export interface DeadLettersResult {
  source: string;
  entries: (DeadLetter & { at: number })[];
}

/** The newest `limit` dead letters (newest first), optionally of paths matching `globs`. */
export async function deadLettersAction(
  config: AppConfig,
  sourceId: string,
  limit: number,
  globs: string[] | undefined,
): Promise<ActionResult<DeadLettersResult>> {
  const source = sourceFrom(config, sourceId);
  return withLedger(config, async (ledger) => {
    const matches = globs && globs.length > 0 ? pathMatcher(globs) : () => true;
    // Filtered by path: read deeper, then cut to the limit.
    const entries = (await ledger.deadLetters(source.id, globs ? Math.max(limit * 20, 10_000) : limit))
      .filter((entry) => matches(entry.path))
      .slice(0, limit)
      .map((entry) => ({ ...entry, at: Number(entry.id.split('-')[0]) }));
    return { data: { source: source.id, entries }, exitCode: EXIT.ok };
  });
}
