import { FtpTransientError } from '../ftp/errors';

const REDIS_UNAVAILABLE =
  /Connection is closed|ECONNREFUSED|ECONNRESET|MaxRetriesPerRequest|Stream isn't writeable|LOADING/;

/** Errors of the environment, not of the file: retried with backoff for as long as the lease holds. */
export function isTransient(err: unknown): boolean {
  if (err instanceof FtpTransientError) return true;
  return err instanceof Error && (REDIS_UNAVAILABLE.test(err.message) || err.name === 'MaxRetriesPerRequestError');
}
