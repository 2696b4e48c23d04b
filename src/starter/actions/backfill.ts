// `backfill`: lists a source now, selects files by glob / directory / mtime window / ledger status, and claims
// them through the ledger's own rules (as a poll would), in rounds of maxAcceptPerPoll within maxInFlight,
// starting one file workflow per claim. `--dry-run` asks the ledger what it would decide and writes nothing.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { candidateOf, claimOptionsOf, filePlanOf, type ActivityDeps } from '../../activities/deps';
import type { AppConfig } from '../../config';
import { applyFilters, filterOptionsOf, orderCandidates } from '../../ftp/filters';
import type { RemoteEntry } from '../../ftp/list';
import {
  byPath,
  Ledger,
  pathMatcher,
  type Candidate,
  type Claim,
  type ClaimBatchOptions,
  type ClaimDecision,
  type LedgerRecord,
  type Status,
} from '../../ledger';
import { fileWorkflow } from '../../workflows';
import { fileVersion } from '../../shared/ids';
import { FTP_KIND, FTP_PATH, FTP_SOURCE, FTP_STAGE } from '../../shared/search-attributes';
import type { FilePlan } from '../../shared/types';
import { sourceFrom, withClient, withLedger } from '../context';
import { EXIT, shortReason } from '../errors';
import { listSource } from '../ftp';
import { isoTime } from '../output';
import type { Action } from './files';

/** A ledger status, or NEW: no ledger record yet. */
export type SelectStatus = Status | 'NEW';

export interface BackfillOptions {
  globs: string[];
  /** Directory (relative to the source's remoteDir) whose files are selected, at any depth. */
  dir?: string;
  /** Remote mtime window [since, until). */
  since?: number;
  until?: number;
  statuses: SelectStatus[];
  /** Run DONE/REJECTED files of the listed version again. */
  reprocess: boolean;
  dryRun: boolean;
  /** At most this many claims in all. */
  limit?: number;
  /** How long to wait for in-flight files to drop below maxInFlight before giving up. */
  waitMs: number;
  /** Progress lines for people (stderr). */
  progress?: (line: string) => void;
}

/** What became (or would become) of one selected file. */
export type Decision = 'claim' | 'reprocess' | 'later' | 'skip' | 'reject' | 'filtered' | 'unsafe';

export interface BackfillFile {
  path: string;
  mtime?: string;
  size: number;
  decision: Decision;
  reason?: string;
  /** Set for a real claim. */
  workflowId?: string;
}

export interface BackfillResult {
  source: string;
  dryRun: boolean;
  /** `backfill:<uuid>`: the pollRun recorded on the claims. */
  run: string;
  listed: number;
  selected: number;
  files: BackfillFile[];
  /** Claims made (real run), or that the ledger would make now (dry run; `later` ones come in more rounds). */
  claimed: number;
  started: number;
  rounds: number;
  failures: { path: string; error: string }[];
  counts: Partial<Record<Decision, number>>;
}

/** The ledger's dry run (DESIGN.md §4 claim rules, nothing written): one decision per candidate. */
async function claimDryRun(
  ledger: Ledger,
  sourceId: string,
  candidates: Candidate[],
  opts: ClaimBatchOptions,
): Promise<ClaimDecision[]> {
  const result = await ledger.claimBatch(sourceId, candidates, { ...opts, dryRun: true });
  return result.decisions ?? [];
}

/** The selection of the operator: directory, globs, mtime window. Returns the globs that matched nothing. */
function select(
  entries: RemoteEntry[],
  options: BackfillOptions,
): { selected: RemoteEntry[]; unmatchedGlobs: string[] } {
  const dir = options.dir?.replace(/^\/+|\/+$/g, '');
  const inDir = (p: string): boolean => !dir || p.startsWith(`${dir}/`);
  const inWindow = (e: RemoteEntry): boolean =>
    (options.since === undefined || e.mtimeMs >= options.since) &&
    (options.until === undefined || e.mtimeMs < options.until);
  const base = entries.filter((e) => inDir(e.path) && inWindow(e));
  if (options.globs.length === 0) return { selected: base, unmatchedGlobs: [] };
  const matchers = options.globs.map((glob) => ({ glob, match: pathMatcher([glob]) }));
  const used = new Set<string>();
  const selected = base.filter((e) => {
    const hits = matchers.filter((m) => m.match(e.path));
    for (const hit of hits) used.add(hit.glob);
    return hits.length > 0;
  });
  return { selected, unmatchedGlobs: options.globs.filter((g) => !used.has(g)) };
}

async function recordsOf(ledger: Ledger, sourceId: string, paths: string[]): Promise<Map<string, LedgerRecord>> {
  const out = new Map<string, LedgerRecord>();
  for (let i = 0; i < paths.length; i += 200) {
    const chunk = paths.slice(i, i + 200);
    const records = await Promise.all(chunk.map((p) => ledger.get(sourceId, p)));
    records.forEach((r) => r && out.set(r.path, r));
  }
  return out;
}

export const backfillAction: Action<BackfillOptions, BackfillResult> = async (config, sourceId, options) => {
  const source = sourceFrom(config, sourceId);
  const progress = options.progress ?? (() => undefined);
  const run = `backfill:${randomUUID()}${options.reprocess ? ':reprocess' : ''}`;
  const nowMs = Date.now();

  progress(`backfill ${source.id}: listing ${source.host}:${source.port}${source.remoteDir}…`);
  const listedAt = Date.now();
  const entries = await listSource(source);
  const { selected, unmatchedGlobs } = select(entries, options);
  const files = new Map<string, BackfillFile>();
  const decide = (e: RemoteEntry, decision: Decision, reason?: string): void => {
    files.set(e.path, { path: e.path, mtime: isoTime(e.mtimeMs), size: e.size, decision, reason });
  };
  const failures = unmatchedGlobs.map((glob) => ({ path: glob, error: 'no listed file matches this glob' }));
  // A directory or window that selects nothing is a slip (a mistyped --dir, one given as a full remote path), as a
  // glob that matches nothing is.
  if (
    selected.length === 0 &&
    unmatchedGlobs.length === 0 &&
    (options.dir !== undefined || options.since !== undefined || options.until !== undefined)
  )
    failures.push({ path: selectionOf(options), error: 'no listed file is selected by it' });

  // Unsafe names: a poll rejects them (reason unsafe-name); a backfill never claims them.
  for (const e of selected) if (e.unsafe !== undefined) decide(e, 'unsafe', `unsafe-name: ${e.unsafe}`);
  // The source's own filters, over the whole listing (ready markers live beside their files).
  const filters = filterOptionsOf(source, nowMs);
  const accepted = new Set(
    applyFilters(
      entries.filter((e) => e.unsafe === undefined),
      filters,
    ).accepted.map((e) => e.path),
  );
  for (const e of selected) {
    if (e.unsafe !== undefined || accepted.has(e.path)) continue;
    const reason = Object.keys(applyFilters([e], filters).filteredOut)[0] ?? 'filtered';
    decide(e, 'filtered', `filtered out by the source's ${reason} rule`);
  }
  let candidates = selected.filter((e) => e.unsafe === undefined && accepted.has(e.path)).sort(byPath);

  return withLedger(config, async (ledger) => {
    const records = await recordsOf(
      ledger,
      source.id,
      candidates.map((e) => e.path),
    );
    const statusOf = (e: RemoteEntry): SelectStatus => records.get(e.path)?.status ?? 'NEW';
    if (options.statuses.length > 0) {
      for (const e of candidates)
        if (!options.statuses.includes(statusOf(e))) decide(e, 'skip', `status ${statusOf(e)} not selected`);
      candidates = candidates.filter((e) => options.statuses.includes(statusOf(e)));
    }
    const sameVersionFinished = (e: RemoteEntry): boolean => {
      const r = records.get(e.path);
      return !!r && (r.status === 'DONE' || r.status === 'REJECTED') && r.version === fileVersion(e.mtimeMs, e.size);
    };
    const toReprocess = new Set(options.reprocess ? candidates.filter(sameVersionFinished).map((e) => e.path) : []);
    if (source.order !== 'none') {
      // Ordered sources run one file per directory at a time: the backfill claims only the first one.
      const unfinished = await ledger.unfinished(source.id, candidates.map(candidateOf), source.versionPolicy);
      const first = new Set(
        orderCandidates(
          candidates.filter((e) => unfinished.has(e.path) || toReprocess.has(e.path)),
          source.order,
        ).map((e) => e.path),
      );
      for (const e of candidates)
        if (!first.has(e.path) && (unfinished.has(e.path) || toReprocess.has(e.path)))
          decide(e, 'later', `ordered source (${source.order}): after an earlier file of its directory`);
      candidates = candidates.filter((e) => first.has(e.path) || !(unfinished.has(e.path) || toReprocess.has(e.path)));
    }
    if (options.limit !== undefined) {
      // The limit counts files that can be claimed; finished files without --reprocess stay for the ledger to report.
      let room = options.limit;
      candidates = candidates.filter((e) => {
        const claimable = !sameVersionFinished(e) || toReprocess.has(e.path);
        if (!claimable) return true;
        if (room > 0) return (room -= 1) >= 0;
        decide(e, 'skip', 'over --limit');
        return false;
      });
    }

    const claimOptions = claimOptionsOf(config.clusterId, source, run);
    // Rounds may wait minutes for room: each claims with the listing's age (a newer version recorded since is kept).
    const fromListing = (): ClaimBatchOptions => ({ ...claimOptions, listedAgoMs: Math.max(0, Date.now() - listedAt) });
    const base = { source: source.id, dryRun: options.dryRun, run, listed: entries.length, selected: selected.length };

    if (options.dryRun) {
      const byCandidate = new Map(candidates.map((e) => [e.path, e]));
      const decisions = await claimDryRun(ledger, source.id, candidates.map(candidateOf), fromListing());
      for (const d of decisions) {
        const e = byCandidate.get(d.path);
        if (!e) continue;
        if (toReprocess.has(d.path))
          decide(e, 'reprocess', `${records.get(d.path)?.status ?? '?'} → claimed again (--reprocess)`);
        else if (d.decision === 'claim') decide(e, 'claim', statusOf(e) === 'NEW' ? 'new' : `${statusOf(e)}`);
        else if (d.decision === 'reject') decide(e, 'reject', d.reason ?? 'max tries reached');
        else if (d.reason === 'cap') decide(e, 'later', 'in a later round (maxAcceptPerPoll / maxInFlight)');
        else decide(e, 'skip', skipReason(d.reason, records.get(d.path)));
      }
      const list = [...files.values()].sort(byPath);
      const claimed = list.filter((f) => f.decision === 'claim' || f.decision === 'reprocess').length;
      const data: BackfillResult = {
        ...base,
        files: list,
        claimed,
        started: 0,
        rounds: 0,
        failures,
        counts: countDecisions(list),
      };
      return { data, exitCode: failures.length > 0 ? EXIT.failed : EXIT.ok };
    }

    const plan = filePlanOf({ config } as ActivityDeps, source);
    return withClient(config, async (client) => {
      // Only those still to claim: --limit and an ordered source's `later` leave the others as they are.
      for (const { path } of candidates.filter((e) => toReprocess.has(e.path))) {
        const reply = await ledger.reprocess(source.id, path);
        if (!reply.ok) failures.push({ path, error: `reprocess refused: ${reply.reason}` });
      }
      let remaining = candidates.map(candidateOf);
      const byPathEntry = new Map(candidates.map((e) => [e.path, e]));
      let claimed = 0;
      let started = 0;
      let rounds = 0;
      let waitedSince: number | undefined;
      while (remaining.length > 0) {
        rounds += 1;
        const result = await ledger.claimBatch(source.id, remaining, fromListing());
        const done = new Set([...result.claims.map((c) => c.path), ...result.rejected.map((r) => r.path)]);
        for (const r of result.rejected) {
          const e = byPathEntry.get(r.path);
          if (e) decide(e, 'reject', `REJECTED: max tries reached (${r.tries}): ${r.error}`);
        }
        const outcomes = await startAll(client, config, plan, result.claims);
        for (const [i, claim] of result.claims.entries()) {
          const e = byPathEntry.get(claim.path);
          const outcome = outcomes[i];
          if (e)
            decide(
              e,
              toReprocess.has(claim.path) ? 'reprocess' : 'claim',
              outcome === true ? 'started' : outcome === false ? 'already started' : `start failed: ${outcome}`,
            );
          files.get(claim.path)!.workflowId = claim.workflowId;
          if (typeof outcome === 'string')
            failures.push({ path: claim.path, error: `workflow ${claim.workflowId} not started: ${outcome}` });
          else if (outcome) started += 1;
        }
        claimed += result.claims.length;
        remaining = remaining.filter((c) => !done.has(c.path));
        const inFlight = await ledger.inFlight(source.id, config.clusterId);
        progress(
          `backfill ${source.id}: round ${rounds}: claimed ${result.claims.length} (total ${claimed}), ${remaining.length} left, in flight ${inFlight}/${source.maxInFlight}`,
        );
        if (result.claims.length > 0 || result.rejected.length > 0) {
          waitedSince = undefined;
          continue;
        }
        if (!result.skipped.cap || remaining.length === 0) break;
        // Nothing claimed because this cluster is at maxInFlight: wait for files to finish.
        waitedSince ??= Date.now();
        if (Date.now() - waitedSince > options.waitMs) {
          failures.push({
            path: '(backfill)',
            error: `stopped: ${remaining.length} files not claimed, this cluster stayed at maxInFlight (${source.maxInFlight}) for ${Math.round(options.waitMs / 1000)}s; run the backfill again later`,
          });
          break;
        }
        await sleep(2_000);
      }
      // Why the ledger left the rest: its dry run over them, now (nothing written).
      const left = remaining.filter((c) => !files.has(c.path));
      const reasons = new Map((await claimDryRun(ledger, source.id, left, fromListing())).map((d) => [d.path, d]));
      for (const c of left) {
        const e = byPathEntry.get(c.path);
        const d = reasons.get(c.path);
        if (!e) continue;
        if (d?.decision === 'claim' || d?.reason === 'cap')
          decide(e, 'later', 'not claimed yet (maxInFlight): run the backfill again');
        else decide(e, 'skip', skipReason(d?.reason, records.get(c.path)));
      }
      const list = [...files.values()].sort(byPath);
      const data: BackfillResult = {
        ...base,
        files: list,
        claimed,
        started,
        rounds,
        failures,
        counts: countDecisions(list),
      };
      return { data, exitCode: failures.length > 0 ? EXIT.failed : EXIT.ok };
    });
  });
};

/** The operator's --dir / --since / --until, as given. */
function selectionOf(options: BackfillOptions): string {
  return [
    options.dir !== undefined ? `--dir ${options.dir}` : '',
    options.since !== undefined ? `--since ${isoTime(options.since)}` : '',
    options.until !== undefined ? `--until ${isoTime(options.until)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function skipReason(reason: string | undefined, record: LedgerRecord | undefined): string {
  switch (reason) {
    case 'done':
      return 'already DONE (this version); --reprocess runs it again';
    case 'rejected':
      return 'REJECTED (this version); `retry` or --reprocess';
    case 'in-flight':
      return `in flight on this cluster (${record?.workflowId ?? 'its workflow'})`;
    case 'leased':
      return `in flight on ${record?.owner ?? 'another cluster'}, lease alive`;
    case 'retry-wait':
      return `RETRY_WAIT until ${isoTime(record?.retryAt) ?? '?'}`;
    case 'stale-listing':
      return `the ledger has version ${record?.version ?? '?'}, recorded after this listing began: list again`;
    default:
      return reason ?? 'skipped';
  }
}

function countDecisions(files: BackfillFile[]): Partial<Record<Decision, number>> {
  const counts: Partial<Record<Decision, number>> = {};
  for (const f of files) counts[f.decision] = (counts[f.decision] ?? 0) + 1;
  return counts;
}

/** Starts one file workflow per claim, as a poll does; true started, false already existed, string error. */
async function startAll(
  client: Client,
  config: AppConfig,
  plan: FilePlan,
  claims: Claim[],
): Promise<(boolean | string)[]> {
  const out: (boolean | string)[] = new Array<boolean | string>(claims.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < claims.length; i = next++) {
      const { leaseUntil: _leaseUntil, ...file } = claims[i]!;
      try {
        await client.workflow.start(fileWorkflow, {
          taskQueue: config.temporal.taskQueue,
          workflowId: file.workflowId,
          args: [{ file, plan }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          staticSummary: `${file.sourceId}: ${file.path} (${file.size} bytes, modified ${new Date(file.mtimeMs).toISOString()}), try ${file.tries}, backfill`,
          typedSearchAttributes: [
            { key: FTP_KIND, value: 'file' },
            { key: FTP_SOURCE, value: file.sourceId },
            { key: FTP_PATH, value: file.path },
            { key: FTP_STAGE, value: 'download' },
          ],
        });
        out[i] = true;
      } catch (err) {
        out[i] = err instanceof WorkflowExecutionAlreadyStartedError ? false : shortReason(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, claims.length) }, worker));
  return out;
}
