import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { applyFilters, filterOptionsOf, orderCandidates } from '../ftp/filters';
import { listOptionsOf } from '../ftp/list';
import { log } from '../log';
import { FtpAccessError, FtpTransientError, type RemoteEntry } from '../remote';
import type { SourceConfig } from '../config';
import type { Candidate } from '../ledger';
import { fileVersion, MAX_WORKFLOW_ID_BYTES, readableIdBase } from '../shared/ids';
import {
  ErrorTypes,
  Reasons,
  type ClaimedFile,
  type ListAndClaimInput,
  type ListAndClaimResult,
} from '../shared/types';
import { candidateOf, claimOptionsOf, filePlanOf, remoteOf, sourceOf, type ActivityDeps } from './deps';
import { keepForNextRound, reusableListing, type Listing } from './listing-reuse';
import { keepRunningClaimsRenewed, type RunningClaimsKeeper } from './running-claims';
import { sweepDue } from './sweep-due';
import { isTransient } from './transient';

/** Runs of a poll's listing while its server is away before the poll fails. */
const LISTING_ATTEMPTS = 3;

/**
 * Lists a source, filters the listing, and claims what is left in one ledger call; then sweeps the source's
 * due records (vanished files, remote actions a lost cluster still owed). A later round of the same poll claims
 * from the first round's listing (listing-reuse.ts). Returns only the claimed files (at most maxAcceptPerPoll)
 * and counters: never the listing itself, which may be huge.
 */
export async function listAndClaim(deps: ActivityDeps, input: ListAndClaimInput): Promise<ListAndClaimResult> {
  const ctx = Context.current();
  const source = sourceOfOrFail(deps, input.sourceId);
  // Rounds of one poll share its pollId, across its continue-as-new runs too (an activity outside a workflow
  // shares nothing).
  const pollId = input.pollId ?? ctx.info.workflowExecution?.runId ?? input.pollRun;
  const heartbeat = setInterval(() => ctx.heartbeat(), 1_000);
  let renewals: RunningClaimsKeeper | undefined;
  try {
    renewals = await keepRunningClaimsRenewed(deps, source);
    // A retried round lists again: its claims of the failed attempt come back only from a listing that has them.
    const reused = ctx.info.attempt === 1 ? reusableListing(source, pollId) : undefined;
    const { listing, rejected, sweep } = reused
      ? { listing: reused, rejected: 0, sweep: undefined }
      : await listFresh(deps, source, ctx.cancellationSignal);
    const claimOptions = claimOptionsOf(deps.config.clusterId, source, input.pollRun);
    await renewals.renewedRecently();
    const result = await deps.ledger.claimBatch(source.id, listing.candidates, {
      ...claimOptions,
      listedAgoMs: Math.max(0, Date.now() - listing.listedAt),
    });
    // Files left only because of maxInFlight: the poll may wait for room and claim them from this listing (an
    // ordered source lists each round, so it waits for its next poll instead).
    const inFlightFull =
      source.order === 'none' && result.claims.length < source.maxAcceptPerPoll && (result.skipped.cap ?? 0) > 0;
    keepForNextRound(source, pollId, listing, result.claims, inFlightFull);
    // The sweep and the source's health need a listing of now: the first round's.
    const swept = sweep ? await sweepDue(deps, source, sweep) : undefined;
    if (sweep) await deps.ledger.recordPoll(source.id, { ok: true, listed: listing.listed });
    return {
      listed: listing.listed,
      filteredOut: listing.filteredOut,
      skipped: result.skipped,
      rejected: rejected + result.rejected.length + (swept?.vanished ?? 0),
      ...(swept && swept.remoteActions > 0 ? { remoteActions: swept.remoteActions } : {}),
      claims: result.claims.map(({ leaseUntil: _leaseUntil, ...claim }): ClaimedFile => claim),
      plan: filePlanOf(deps, source),
      maxAcceptPerPoll: source.maxAcceptPerPoll,
      ...(inFlightFull ? { roomWaitMs: source.pollIntervalMs } : {}),
    };
  } catch (err) {
    throw await pollFailure(deps, source, err);
  } finally {
    clearInterval(heartbeat);
    await renewals?.stop();
  }
}

/** A listing of now: refuses hostile names, filters, keeps stable versions, orders what is left to claim. */
async function listFresh(
  deps: ActivityDeps,
  source: SourceConfig,
  signal: AbortSignal,
): Promise<{ listing: Listing; rejected: number; sweep: { listed: RemoteEntry[]; wanted: RemoteEntry[] } }> {
  const listedAt = Date.now();
  const entries = await listSource(deps, source, signal);
  const rejected = await rejectUnsafeNames(deps, source, entries);
  const safe = entries.filter((entry) => entry.unsafe === undefined && !idTooLong(source, entry));
  // The server's mtime against the ledger's clock, never a worker's.
  const { accepted, filteredOut } = applyFilters(safe, filterOptionsOf(source, await deps.ledger.now()));
  const stable = source.requireStableSize ? await keepStable(deps, source, accepted) : accepted;
  const unstable = accepted.length - stable.length;
  const listing: Listing = {
    listedAt,
    listed: entries.length,
    filteredOut: { ...filteredOut, ...(unstable > 0 ? { 'size-unstable': unstable } : {}) },
    candidates: await orderForClaim(deps, source, stable),
  };
  return { listing, rejected, sweep: { listed: entries, wanted: stable } };
}

async function listSource(deps: ActivityDeps, source: SourceConfig, signal: AbortSignal): Promise<RemoteEntry[]> {
  const skips = skipLog(source.id);
  try {
    return await remoteOf(deps, source).withSession(
      (session) => session.list(listOptionsOf(source, skips.onSkip)),
      signal,
    );
  } finally {
    skips.end();
  }
}

/** Skipped entries a poll logs one by one; past this, only their count. */
export const SKIP_LOG_LINES = 20;

/**
 * What the listing leaves out on purpose (symlinks, devices, unsafe directory names) leaves a trace: a debug line
 * for each of the first SKIP_LOG_LINES entries of a poll, then one line with the count.
 */
export function skipLog(
  sourceId: string,
  logger: Pick<typeof log, 'debug'> = log,
): {
  onSkip: (relPath: string, reason: string) => void;
  end: () => void;
} {
  let skipped = 0;
  return {
    onSkip: (relPath, reason) => {
      skipped += 1;
      if (skipped <= SKIP_LOG_LINES)
        logger.debug({ source: sourceId, path: relPath, reason }, 'listing skipped an entry');
    },
    end: () => {
      if (skipped > SKIP_LOG_LINES) {
        logger.debug(
          { source: sourceId, skipped, notLogged: skipped - SKIP_LOG_LINES },
          'listing skipped more entries than it logs',
        );
      }
    },
  };
}

/**
 * What a failed poll tells: the source's health in the ledger, and an error for Temporal. A refused login, a
 * missing directory or any other permanent refusal is the environment: the poll fails at once (no retry can
 * help before someone fixes it) with a message naming the server, and no file loses a try.
 */
async function pollFailure(deps: ActivityDeps, source: SourceConfig, err: unknown): Promise<unknown> {
  if (err instanceof ApplicationFailure) return err;
  if (!(err instanceof FtpAccessError)) {
    if (isTransient(err))
      Context.current().log.warn('poll failed, will retry', { sourceId: source.id, error: String(err) });
    return err;
  }
  const where = `${source.user}@${source.host}:${source.port}${source.remoteDir}`;
  const message = `source ${source.id}: cannot list ${where}: ${err.message}`;
  await deps.ledger.recordPoll(source.id, { ok: false, error: message }).catch(() => undefined);
  // A server away is tried a few times (it may be a blip); then the poll fails with the reason, and the next
  // scheduled poll tries again. A killed worker is not an error here: its retries are Temporal's.
  const tryAgain = err instanceof FtpTransientError && Context.current().info.attempt < LISTING_ATTEMPTS;
  if (tryAgain) return ApplicationFailure.retryable(message, ErrorTypes.sourceUnavailable);
  return ApplicationFailure.nonRetryable(message, ErrorTypes.sourceUnavailable);
}

/** Hostile names are refused at once: REJECTED in the ledger with the reason, one dead letter, never downloaded. */
async function rejectUnsafeNames(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<number> {
  let recorded = 0;
  for (const entry of entries) {
    const reason = entry.unsafe ?? (idTooLong(source, entry) ? 'too long for a workflow id' : undefined);
    if (reason === undefined) continue;
    const version = fileVersion(entry.mtimeMs, entry.size);
    const { recorded: isNew } = await deps.ledger.rejectUnsafe(
      source.id,
      entry.path,
      version,
      `${Reasons.unsafeName}: ${reason}`,
    );
    if (isNew) recorded++;
  }
  return recorded;
}

/** A path too long to name in Temporal (its id, even shortened, and its `FtpPath` attribute) is refused here. */
function idTooLong(source: SourceConfig, entry: RemoteEntry): boolean {
  const base = readableIdBase(source.id, entry.path, fileVersion(entry.mtimeMs, entry.size));
  return Buffer.byteLength(base) > MAX_WORKFLOW_ID_BYTES;
}

/** A file still being uploaded changes size: take it only once its version held for stableTime. */
async function keepStable(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<RemoteEntry[]> {
  const stablePaths = await deps.ledger.observeVersions(source.id, entries.map(candidateOf), source.stableTimeMs);
  return entries.filter((entry) => stablePaths.has(entry.path));
}

/**
 * Ordered sources process one file per directory at a time: the claim considers, per directory, the files in
 * order and the ledger stops at the first one not yet finished.
 */
async function orderForClaim(deps: ActivityDeps, source: SourceConfig, entries: RemoteEntry[]): Promise<Candidate[]> {
  if (source.order === 'none') return entries.map(candidateOf);
  const unfinished = await deps.ledger.unfinished(source.id, entries.map(candidateOf), source.versionPolicy);
  return orderCandidates(
    entries.filter((entry) => unfinished.has(entry.path)),
    source.order,
  ).map(candidateOf);
}

/** A source this worker's config does not know cannot be polled by any retry: fail the poll at once. */
function sourceOfOrFail(deps: ActivityDeps, sourceId: string): SourceConfig {
  try {
    return sourceOf(deps, sourceId);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'UnknownSource');
  }
}
