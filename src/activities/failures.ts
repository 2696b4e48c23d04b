import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../shared/types';

/** The claim's token no longer owns the ledger record: end this attempt without commit or move. */
export function claimLost(reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`claim lost: ${reason}`, ErrorTypes.claimLost);
}

/** Input that no retry can fix: reject the file now. */
export function permanentFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorTypes.permanent);
}

/** This attempt is over; the ledger decides whether the file gets another one (RETRY_WAIT) or is REJECTED. */
export function attemptFailed(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorTypes.attemptFailed);
}

/** Runs of one activity, within one claim attempt, before an ordinary error ends the attempt. */
export const ATTEMPTS_PER_ACTIVITY = 3;

/**
 * Lets Temporal retry `err`, unless it is not transient and this activity already ran ATTEMPTS_PER_ACTIVITY
 * times: then the attempt fails for good. Transient errors (FTP 421, dropped connections, Redis away) never
 * count against the file: they are retried with backoff while the lease holds.
 */
export function retryOrFail(err: unknown, isTransient: (err: unknown) => boolean): never {
  if (err instanceof ApplicationFailure || isTransient(err)) throw err;
  const message = err instanceof Error ? err.message : String(err);
  if (Context.current().info.attempt >= ATTEMPTS_PER_ACTIVITY) throw attemptFailed(message);
  throw err;
}
