import { Context } from '@temporalio/activity';
import type { SourceConfig } from '../config';
import type { Ledger, RunStep } from '../ledger';
import { Reasons, type ClaimedFile } from '../shared/types';
import { claimLost, permanentFailure } from './failures';

export interface LeaseKeeperOptions {
  ledger: Ledger;
  file: ClaimedFile;
  /** Which step runs: the ledger counts the runs in a row of each step that ended without a word. */
  step: RunStep;
  leaseMs: number;
  heartbeatTimeoutMs: number;
  /** Runs of this step in a row that may end without a word (worker died or hung) before the file is REJECTED. */
  maxCrashes: number;
}

/** A source's lease settings for one step of one claimed file. */
export function leaseFor(ledger: Ledger, source: SourceConfig, file: ClaimedFile, step: RunStep): LeaseKeeperOptions {
  return {
    ledger,
    file,
    step,
    leaseMs: source.retryTimeoutMs,
    heartbeatTimeoutMs: source.heartbeatTimeoutMs,
    maxCrashes: source.maxCrashes,
  };
}

export interface HeldLease<Details> {
  /** Aborted when Temporal cancels the activity or the claim is lost. */
  readonly signal: AbortSignal;
  /** Heartbeat details of an earlier run of this activity (after a crash or retry), if any. */
  readonly previous: Details | undefined;
  /**
   * Records progress/checkpoint details; they go to Temporal with every heartbeat. Progress alone waits until the
   * run has lasted FIRST_PROGRESS_HEARTBEAT_MS; `now` (details that carry a new checkpoint) sends at once.
   */
  heartbeat(details: Details, now?: boolean): void;
}

/**
 * A run's progress is first sent this long after it starts: a step that ends sooner (every step of a small file)
 * sends no heartbeat, each of which is a write on the Temporal server. Liveness does not depend on it (the renewal
 * timer heartbeats within a third of heartbeatTimeout), and a checkpoint is never held back.
 */
export const FIRST_PROGRESS_HEARTBEAT_MS = 1_000;

/**
 * A run silent (no heartbeat) for this many heartbeatTimeouts has certainly been timed out by Temporal, even if the
 * SDK sent a held-back heartbeat meanwhile (at most 0.8 of the timeout after the last one).
 */
const STALL_FACTOR = 2;

/**
 * Runs `work` while keeping the claim alive: renews the Redis lease at about a third of its length and
 * heartbeats Temporal with the latest details, so a killed worker's activity moves elsewhere within
 * heartbeatTimeout and resumes from those details. Fails with ClaimLost as soon as the token stops owning
 * the record, including at the start (a retry after another attempt took over does no work). Each run is
 * counted open in the ledger until it ends: when `maxCrashes` runs of the step in a row never ended, the file is
 * REJECTED as a crash loop instead of killing workers forever.
 */
export async function withLease<Details, T>(
  options: LeaseKeeperOptions,
  work: (lease: HeldLease<Details>) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  const lost = new AbortController();
  let lostReason: string | undefined;
  let details = ctx.info.heartbeatDetails as Details | undefined;
  // When this run last told Temporal it is alive, and whether it ever went silent long enough to be timed out.
  let heardAt = performance.now();
  let stalled = false;
  const silentTooLong = (): boolean => performance.now() - heardAt > STALL_FACTOR * options.heartbeatTimeoutMs;
  // A local activity (the small-file fast path) has no heartbeats: the lease renewals and the run count remain.
  const beat = ctx.info.isLocal
    ? () => undefined
    : (next: Details | undefined) => {
        stalled ||= silentTooLong();
        heardAt = performance.now();
        ctx.heartbeat(next);
      };

  const renew = async (): Promise<void> => {
    const { ledger, file, leaseMs } = options;
    const renewed = await ledger.renew(file.sourceId, file.path, file.token, leaseMs, file.owner);
    if (!renewed.ok && lostReason === undefined) {
      lostReason = renewed.reason;
      lost.abort(claimLost(renewed.reason));
    }
  };
  await beginRun(options);
  // Measured from here: a slow ledger (Redis failing over) is not the step's stall.
  heardAt = performance.now();

  const progressFrom = performance.now() + FIRST_PROGRESS_HEARTBEAT_MS;
  let heldProgress: NodeJS.Timeout | undefined;
  const everyMs = Math.max(200, Math.min(options.leaseMs / 3, options.heartbeatTimeoutMs / 3));
  const timer = setInterval(() => {
    beat(details);
    // Redis being away is not a lost claim: the fenced commit decides later. Keep trying.
    renew().catch((err: unknown) => {
      ctx.log.warn('lease renewal failed', { error: String(err) });
    });
  }, everyMs);
  try {
    const result = await work({
      signal: AbortSignal.any([ctx.cancellationSignal, lost.signal]),
      previous: details,
      heartbeat(next, now = false) {
        details = next;
        if (now || performance.now() >= progressFrom) beat(next);
        else heldProgress ??= setTimeout(() => beat(details), progressFrom - performance.now());
      },
    });
    if (lostReason !== undefined) throw claimLost(lostReason);
    return result;
  } catch (err) {
    if (lostReason !== undefined) throw claimLost(lostReason);
    throw err;
  } finally {
    clearInterval(timer);
    clearTimeout(heldProgress);
    const { ledger, file, step } = options;
    const cancelled = ctx.cancellationDetails;
    const timedOut = cancelled?.timedOut === true || cancelled?.notFound === true;
    if (!ctx.info.isLocal && (stalled || silentTooLong() || timedOut)) {
      // Temporal timed this run out (its result is refused) and has run the step again: it did not end, it hung.
      // Left open, it counts as one of the step's runs in a row that ended without a word, so a processor that
      // blocks the event loop for longer than heartbeatTimeout ends `crash-loop` instead of running for ever.
      ctx.log.warn('run timed out by Temporal: counted as a hung run (does the step block the event loop?)', {
        step,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      });
    } else {
      // Best effort: a run whose end is not recorded counts as one crash (of maxCrashes).
      await ledger.endRun(file.sourceId, file.path, file.token, step).catch(() => undefined);
    }
  }
}

async function beginRun({ ledger, file, step, leaseMs, maxCrashes }: LeaseKeeperOptions): Promise<void> {
  const begun = await ledger.beginRun(file.sourceId, file.path, file.token, {
    step,
    leaseMs,
    maxCrashes,
    owner: file.owner,
  });
  if (begun.ok) return;
  if (begun.reason === 'crash-loop') {
    throw permanentFailure(
      `${Reasons.crashLoop}: ${begun.crashes} runs of its ${step} in a row ended without a word (their worker died or hung)`,
    );
  }
  throw claimLost(begun.reason);
}
