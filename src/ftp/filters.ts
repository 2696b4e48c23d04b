import path from 'node:path';
import picomatch from 'picomatch';
import type { SourceConfig } from '../config';
import { PATTERN_FLAGS } from '../shared/patterns';
import type { RemoteEntry, TimePrecision } from './list';

export type FilterReason = 'marker' | 'hidden' | 'exclude' | 'include' | 'pattern' | 'too-young' | 'not-ready';

export interface FilterOptions {
  /** Globs on the path relative to the listed dir; a glob without `/` matches the base name. Empty: all. */
  include: string[];
  exclude: string[];
  /** A regular expression (JavaScript syntax) the base name must match. */
  pattern?: string;
  includeHidden: boolean;
  minFileAgeMs: number;
  nowMs: number;
  /** Take `x` only when `x<suffix>` exists beside it, for one of the suffixes (e.g. `.done`, `.ok`). */
  readyMarker?: { suffixes: string[] };
}

/** A source's filters, with `nowMs` the ledger's clock (a file's age is the server's mtime against Redis time). */
export function filterOptionsOf(source: SourceConfig, nowMs: number): FilterOptions {
  return {
    include: [...source.include],
    exclude: [...source.exclude],
    pattern: source.pattern ?? undefined,
    includeHidden: source.includeHidden,
    minFileAgeMs: source.minFileAgeMs,
    nowMs,
    readyMarker: source.readyMarker ? { suffixes: [...source.readyMarker.suffixes] } : undefined,
  };
}

export interface FilterResult {
  accepted: RemoteEntry[];
  filteredOut: Partial<Record<FilterReason, number>>;
}

// An mtime can be truncated by up to this much, so a file may be that much younger than it looks.
const PRECISION_SLACK_MS: Record<TimePrecision, number> = { ms: 0, s: 1_000, min: 60_000, day: 86_400_000 };

/**
 * Keeps the listed files a source wants now. Entries flagged `unsafe` pass through like any other so the
 * caller can reject them visibly. Size stability across polls is decided ledger-side, not here.
 */
export function applyFilters(entries: RemoteEntry[], opts: FilterOptions): FilterResult {
  const reasonFor = rejectionReason(entries, opts);
  const accepted: RemoteEntry[] = [];
  const filteredOut: Partial<Record<FilterReason, number>> = {};
  for (const entry of entries) {
    const reason = reasonFor(entry);
    if (reason === undefined) accepted.push(entry);
    else filteredOut[reason] = (filteredOut[reason] ?? 0) + 1;
  }
  return { accepted, filteredOut };
}

function rejectionReason(
  entries: RemoteEntry[],
  opts: FilterOptions,
): (entry: RemoteEntry) => FilterReason | undefined {
  const included = opts.include.length > 0 ? globMatcher(opts.include) : () => true;
  const excluded = globMatcher(opts.exclude);
  const pattern = opts.pattern === undefined ? undefined : new RegExp(opts.pattern, PATTERN_FLAGS);
  const suffixes = opts.readyMarker?.suffixes ?? [];
  const present = new Set(entries.map((entry) => entry.path));
  return (entry) => {
    if (suffixes.some((suffix) => entry.path.endsWith(suffix))) return 'marker';
    if (entry.isHidden && !opts.includeHidden) return 'hidden';
    if (excluded(entry.path)) return 'exclude';
    if (!included(entry.path)) return 'include';
    if (pattern && !pattern.test(entry.name)) return 'pattern';
    if (isTooYoung(entry, opts)) return 'too-young';
    if (suffixes.length > 0 && !suffixes.some((suffix) => present.has(entry.path + suffix))) return 'not-ready';
    return undefined;
  };
}

/**
 * Globs with a `/` match the whole relative path, globs without one the base name. (picomatch's own
 * `basename` option applies the base name to every glob in v4, so `tmp/**` would never match.)
 */
function globMatcher(globs: string[]): (relPath: string) => boolean {
  const onPath = globs.filter((glob) => glob.includes('/'));
  const onName = globs.filter((glob) => !glob.includes('/'));
  const pathMatch = onPath.length > 0 ? picomatch(onPath, { dot: true }) : () => false;
  const nameMatch = onName.length > 0 ? picomatch(onName, { dot: true }) : () => false;
  return (relPath) => pathMatch(relPath) || nameMatch(path.posix.basename(relPath));
}

function isTooYoung(entry: RemoteEntry, opts: FilterOptions): boolean {
  if (opts.minFileAgeMs <= 0) return false;
  const latestPossibleMtime = entry.mtimeMs + PRECISION_SLACK_MS[entry.precision];
  return opts.nowMs - latestPossibleMtime < opts.minFileAgeMs;
}

export type OrderMode = 'none' | 'name' | 'mtime';

/**
 * Orders candidates. In an ordered mode a directory is processed one file at a time (DESIGN §8b), so only
 * the first file of each directory is kept — pass candidates that are not yet DONE, or a finished file
 * that stays on the server would hold its directory forever.
 */
export function orderCandidates(entries: RemoteEntry[], mode: OrderMode): RemoteEntry[] {
  if (mode === 'none') return [...entries];
  const sorted = [...entries].sort(mode === 'name' ? byPath : byMtimeThenPath);
  const firstPerDir = new Map<string, RemoteEntry>();
  for (const entry of sorted) {
    const dir = path.posix.dirname(entry.path);
    if (!firstPerDir.has(dir)) firstPerDir.set(dir, entry);
  }
  return [...firstPerDir.values()];
}

// Code-unit order, not locale order: the same on every worker whatever its locale.
function byPath(a: RemoteEntry, b: RemoteEntry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function byMtimeThenPath(a: RemoteEntry, b: RemoteEntry): number {
  return a.mtimeMs - b.mtimeMs || byPath(a, b);
}
