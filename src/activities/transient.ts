import { FtpPermanentError, FtpTransientError } from '../remote';
import { LedgerReplicationError } from '../ledger';

const REDIS_UNAVAILABLE =
  /Connection is closed|ECONNREFUSED|ECONNRESET|MaxRetriesPerRequest|Stream isn't writeable|LOADING/;

/**
 * Errors of the environment, not of the file: retried with backoff for as long as the lease holds, and never
 * counted against the file. A refused login (530) or an unsupported command is the server's configuration: a
 * rotated password must not drive the files in flight to REJECTED. Only a refusal about the file itself
 * (FtpFileError: 550 gone or no access) and a changed file end an attempt.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof FtpTransientError || err instanceof FtpPermanentError) return true;
  if (err instanceof LedgerReplicationError) return true;
  return err instanceof Error && (REDIS_UNAVAILABLE.test(err.message) || err.name === 'MaxRetriesPerRequestError');
}
