import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { applyFilters, orderCandidates } from '../ftp/filters';
import { listRemote, type RemoteEntry } from '../ftp/list';
import type { SourceConfig } from '../config';
import type { Candidate } from '../ledger';
import type { ClaimedFile, ListAndClaimInput, ListAndClaimResult } from '../workflows/types';
import { filePlanOf, ftpPoolOf, sourceOf, type ActivityDeps } from './deps';
import { renewRunningClaims } from './running-claims';
import { isTransient } from './transient';

/**
 * Lists a source, filters the listing, and claims what is left in one ledger call. Returns only the claimed
 * files (at most maxAcceptPerPoll) and counters: never the listing itself, which may be huge.
 */
export async function listAndClaim(deps: ActivityDeps, input: ListAndClaimInput): Promise<ListAndClaimResult> {
  const ctx = Context.current();
  const source = sourceOfOrFail(deps, input.sourceId);
  const heartbeat = setInterval(() => ctx.heartbeat(), 2_000);
  try {
    await renewRunningClaims(deps, source);
    const entries = await listSource(deps, source, ctx.cancellationSignal);
    const rejected = await rejectUnsafeNames(deps, source, entries);
    const safe = entries.filter((entry) => entry.unsafe === undefined);
    const { accepted, filteredOut } = applyFilters(safe, {
      include: [...source.include],
      exclude: [...source.exclude],
      pattern: source.pattern ?? undefined,
      includeHidden: source.includeHidden,
      minFileAgeMs: source.minFileAgeMs,
      nowMs: Date.now(),
      readyMarker: source.readyMarker ? { suffixes: [...source.readyMarker.suffixes] } : undefined,
    });
    const stable = source.requireStableSize ? await keepStable(deps, source, accepted) : accepted;
    const unstable = accepted.length - stable.length;
    const candidates = await orderForClaim(deps, source, stable);
    const result = await deps.ledger.claimBatch(source.id, candidates, {
      clusterId: deps.config.clusterId,
      pollRun: input.pollRun,
      leaseMs: source.retryTimeoutMs,
      maxTries: source.maxTries,
      maxAcceptPerPoll: source.maxAcceptPerPoll,
      maxInFlight: source.maxInFlight,
      versionPolicy: source.versionPolicy,
    });
    return {
      listed: entries.length,
      filteredOut: { ...filteredOut, ...(unstable > 0 ? { 'size-unstable': unstable } : {}) },
      skipped: result.skipped,
      rejected: rejected + result.rejected.length,
      claims: result.claims.map(({ leaseUntil: _leaseUntil, ...claim }): ClaimedFile => claim),
      plan: filePlanOf(deps, source),
    };
  } catch (err) {
    if (isTransient(err)) ctx.log.warn('listing failed, will retry', { sourceId: source.id, error: String(err) });
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}

async function listSource(deps: ActivityDeps, source: SourceConfig, signal: AbortSignal): Promise<RemoteEntry[]> {
  return ftpPoolOf(deps, source).withClient(
    (client) =>
      listRemote(client, {
        remoteDir: source.remoteDir,
        recursive: source.recursive,
        maxDepth: source.recursive ? source.maxDepth : 0,
        timeZone: source.timeZone,
      }),
    signal,
  );
}

/** Hostile names are refused at once: REJECTED in the ledger with the reason, one dead letter, never downloaded. */
async function rejectUnsafeNames(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<number> {
  let recorded = 0;
  for (const entry of entries) {
    if (entry.unsafe === undefined) continue;
    const version = `${entry.mtimeMs}-${entry.size}`;
    const { recorded: isNew } = await deps.ledger.rejectUnsafe(
      source.id,
      entry.path,
      version,
      `unsafe-name: ${entry.unsafe}`,
    );
    if (isNew) recorded++;
  }
  return recorded;
}

/** A file still being uploaded changes size between polls: take it only once two polls saw the same version. */
async function keepStable(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<RemoteEntry[]> {
  const stablePaths = await deps.ledger.observeVersions(source.id, entries.map(toCandidate));
  return entries.filter((entry) => stablePaths.has(entry.path));
}

/**
 * Ordered sources process one file per directory at a time: the claim considers, per directory, the files in
 * order and the ledger stops at the first one not yet finished.
 */
async function orderForClaim(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<Candidate[]> {
  if (source.order === 'none') return entries.map(toCandidate);
  const unfinished = await deps.ledger.unfinished(source.id, entries.map(toCandidate), source.versionPolicy);
  return orderCandidates(
    entries.filter((entry) => unfinished.has(entry.path)),
    source.order,
  ).map(toCandidate);
}

/** A source this worker's config does not know cannot be polled by any retry: fail the poll at once. */
function sourceOfOrFail(deps: ActivityDeps, sourceId: string): SourceConfig {
  try {
    return sourceOf(deps, sourceId);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'UnknownSource');
  }
}

function toCandidate(entry: RemoteEntry): Candidate {
  return { path: entry.path, mtimeMs: entry.mtimeMs, size: entry.size };
}
