import { FTPError } from 'basic-ftp';

/** Base of the errors this layer produces; `retryable` tells an activity whether backing off can help. */
export abstract class FtpAccessError extends Error {
  abstract readonly retryable: boolean;
  /** The FTP reply code when the server sent one. */
  readonly ftpCode: number | undefined;

  constructor(message: string, ftpCode: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.ftpCode = ftpCode;
  }
}

/**
 * The server or the network, not the file: 421 (too many connections / shutting down), other 4xx replies,
 * a dropped control or data connection, a timeout. Retry with backoff; never a reason to fail the file.
 */
export class FtpTransientError extends FtpAccessError {
  readonly retryable = true;
}

/** The server refused an operation on a file (550 not found / no access, 551, 553 bad name). */
export class FtpFileError extends FtpAccessError {
  readonly retryable = false;
}

/** Any other permanent refusal: bad credentials (530), unsupported command (500/502/504), protocol trouble. */
export class FtpPermanentError extends FtpAccessError {
  readonly retryable = false;
}

/** The remote file does not have the size it was listed with: it changed (or is still being written). */
export class FtpSizeMismatchError extends FtpAccessError {
  readonly retryable = false;
  constructor(
    readonly remotePath: string,
    readonly expectedSize: number,
    readonly actualSize: number,
  ) {
    super(`remote file changed: ${remotePath} expected ${expectedSize} bytes, got ${actualSize}`, undefined);
  }
}

// Errno codes of a connection that broke or never came up.
const NETWORK_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTCONN',
]);

// basic-ftp reports closed/timed-out sockets as plain Errors with these messages.
const BROKEN_CONNECTION =
  /Timeout \(|closed connection unexpectedly|FIN packet unexpectedly|Client is closed|Socket closed due to transmission error|data connection/i;

/**
 * Maps what basic-ftp (or the network) threw to this layer's error classes. Errors that are already
 * classified, and errors that are not about FTP at all (a local disk error), are returned unchanged.
 */
export function classifyFtpError(err: unknown): Error {
  if (err instanceof FtpAccessError) return err;
  if (err instanceof FTPError) return classifyReply(err);
  if (!(err instanceof Error)) return new FtpPermanentError(`ftp: ${String(err)}`, undefined, { cause: err });
  const errno = (err as NodeJS.ErrnoException).code;
  if ((typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) || BROKEN_CONNECTION.test(err.message)) {
    return new FtpTransientError(`ftp connection lost: ${err.message}`, undefined, { cause: err });
  }
  return err;
}

function classifyReply(err: FTPError): FtpAccessError {
  const code = err.code;
  const text = err.message.trim();
  if (code === 421)
    return new FtpTransientError(`ftp server refused the connection (421): ${text}`, code, { cause: err });
  // 4xx is "transient negative completion" by RFC 959: busy file, no data connection, aborted transfer.
  if (code >= 400 && code < 500)
    return new FtpTransientError(`ftp transient failure (${code}): ${text}`, code, { cause: err });
  if (code === 550 || code === 551 || code === 553)
    return new FtpFileError(`ftp file error (${code}): ${text}`, code, { cause: err });
  return new FtpPermanentError(`ftp error (${code}): ${text}`, code, { cause: err });
}
