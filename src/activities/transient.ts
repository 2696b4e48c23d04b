import { FtpAccessError, FtpFileError, FtpPermanentError, FtpTransientError, NETWORK_ERRNOS } from '../remote';
import { LedgerReplicationError } from '../ledger';

// ioredis gives these two no class or code (plain Errors from Redis.js/utils): its own exact texts, not a pattern.
const IOREDIS_OFFLINE = new Set([
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
]);

/** Redis away: a socket errno, ioredis's retry limit, its offline errors, or a server still loading its data. */
function isRedisUnavailable(err: Error): boolean {
  if (err.name === 'MaxRetriesPerRequestError') return true;
  // A reply error's first word is Redis's error code.
  if (err.name === 'ReplyError' && err.message.split(' ', 1)[0] === 'LOADING') return true;
  if (IOREDIS_OFFLINE.has(err.message)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && NETWORK_ERRNOS.has(code);
}

/**
 * Errors of the environment, not of the file: retried with backoff for as long as the lease holds, and never
 * counted against the file. A refused login (530) or an unsupported command is the server's configuration: a
 * rotated password must not drive the files in flight to REJECTED. Only a refusal about the file itself
 * (FtpFileError: 550 gone or no access) and a changed file end an attempt.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof FtpTransientError || err instanceof FtpPermanentError) return true;
  if (err instanceof LedgerReplicationError) return true;
  return err instanceof Error && isRedisUnavailable(err);
}

/** Replies about the whole session or the network, not about one file: the server is away, full or locked. */
const SESSION_REPLIES = new Set([421, 425, 426, 530, 532]);

/**
 * The server is up and answers, but refuses this one file (450 busy, 451, 452, a 5xx other than a login or a
 * "no such file"). Like the environment it is waited for, but a step that keeps getting it must not hold its
 * claim for ever: see retryOrFail's callers.
 */
export function refusesTheFile(err: unknown): boolean {
  if (!(err instanceof FtpAccessError) || err instanceof FtpFileError || err.ftpCode === undefined) return false;
  return !SESSION_REPLIES.has(err.ftpCode);
}
