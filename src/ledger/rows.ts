// Read helpers over a source's whole ledger, for operators (CLI), the demo and tests. Reads only: every
// transition stays in the Lua scripts behind the Ledger class.
import path from 'node:path';
import picomatch from 'picomatch';
import type { Ledger } from './ledger';
import type { LedgerRecord, Status } from './types';

// Code-unit order, not locale order: the same listing on every machine, page after page.
export const byPath = (a: { path: string }, b: { path: string }): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * Up to `limit` records of a source (optionally of one status), sorted by path. The whole source is scanned
 * and sorted before the cut, so the same call returns the same rows (stable paging).
 */
export async function ledgerRows(
  ledger: Ledger,
  sourceId: string,
  status: Status | undefined,
  limit: number,
): Promise<LedgerRecord[]> {
  const rows = await ledgerRowsWhere(ledger, sourceId, { statuses: status === undefined ? undefined : [status] });
  return rows.slice(0, limit);
}

export interface RowFilter {
  /** Any of these statuses (all when absent or empty). */
  statuses?: readonly Status[];
  /** Any of these globs (all when absent or empty): see `pathMatcher`. */
  globs?: readonly string[];
}

/** Every record of a source that passes `filter`, sorted by path. */
export async function ledgerRowsWhere(
  ledger: Ledger,
  sourceId: string,
  filter: RowFilter = {},
): Promise<LedgerRecord[]> {
  const statuses = filter.statuses && filter.statuses.length > 0 ? new Set(filter.statuses) : undefined;
  const matches = filter.globs && filter.globs.length > 0 ? pathMatcher(filter.globs) : () => true;
  const rows: LedgerRecord[] = [];
  let cursor = '0';
  do {
    const page = await ledger.list(sourceId, { cursor, count: 500 });
    for (const record of page.records) {
      if ((!statuses || statuses.has(record.status)) && matches(record.path)) rows.push(record);
    }
    cursor = page.cursor;
  } while (cursor !== '0');
  return rows.sort(byPath);
}

/**
 * A matcher for remote paths (relative to the source's dir), as the source filters read globs: a glob with a
 * `/` matches the whole path, one without matches the base name. A glob also matches the path it spells
 * exactly, so a literal path with glob characters (`a[1].csv`) still names its file.
 */
export function pathMatcher(globs: readonly string[]): (relPath: string) => boolean {
  const exact = new Set(globs);
  const onPath = globs.filter((glob) => glob.includes('/'));
  const onName = globs.filter((glob) => !glob.includes('/'));
  const pathMatch = onPath.length > 0 ? picomatch(onPath, { dot: true }) : () => false;
  const nameMatch = onName.length > 0 ? picomatch(onName, { dot: true }) : () => false;
  return (relPath) => exact.has(relPath) || pathMatch(relPath) || nameMatch(path.posix.basename(relPath));
}
