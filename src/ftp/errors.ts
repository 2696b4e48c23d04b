import { FTPError } from 'basic-ftp';

/**
 * Base of the errors this layer produces. Whether an activity retries one is decided by its class
 * (src/activities/transient.ts): a permanent refusal of the server (a login) is retried there too, as the environment.
 */
export abstract class FtpAccessError extends Error {
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
export class FtpTransientError extends FtpAccessError {}

/**
 * The peer could not be trusted: an FTPS certificate that does not verify (unknown CA, wrong host name, expired)
 * or an SFTP host key that is unknown or does not match its pin. It is the environment, not the file, so it is a
 * transient error (retried with backoff, never counted against a file) until an operator fixes the trust setup.
 * `endpoint` is `host:port`; `reason` the verifier's words; `code` its code (Node's TLS code, or a host-key code).
 */
export class RemoteTrustError extends FtpTransientError {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    readonly code: string,
    what: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} ${endpoint} refused: ${reason} (${code})`, undefined, options);
  }
}

/** An FTPS server whose certificate does not verify, or whose TLS handshake fails. */
export class FtpTlsError extends RemoteTrustError {
  constructor(endpoint: string, reason: string, code: string, options?: { cause?: unknown }) {
    super(endpoint, reason, code, 'ftps: TLS with', options);
  }
}

/** The server refused an operation on a file (550 not found / no access, 551, 553 bad name). */
export class FtpFileError extends FtpAccessError {}

/** Any other permanent refusal: bad credentials (530), unsupported command (500/502/504), protocol trouble. */
export class FtpPermanentError extends FtpAccessError {}

/** The credentials were refused or cannot be used (an SFTP login refused, a private key that does not parse). */
export class RemoteLoginError extends FtpPermanentError {}

/** The remote file does not have the size it was listed with: it changed (or is still being written). */
export class FtpSizeMismatchError extends FtpAccessError {
  constructor(
    readonly remotePath: string,
    readonly expectedSize: number,
    readonly actualSize: number,
  ) {
    super(`remote file changed: ${remotePath} expected ${expectedSize} bytes, got ${actualSize}`, undefined);
  }
}

/** Errno codes of a connection that broke or never came up (FTP, SFTP and Redis alike). */
export const NETWORK_ERRNOS: ReadonlySet<string> = new Set([
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

// Codes Node gives a TLS handshake or certificate check that failed: OpenSSL's X.509 verify results, Node's
// own `ERR_TLS_*` (host name mismatch and others) and `ERR_SSL_*` (protocol version, alerts from the peer).
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** The errno code (`ECONNREFUSED`, `ENOTFOUND`, …) of `err` or of one of its causes, if any. */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

/** Node's code of a TLS failure, or undefined when `err` is not one. */
export function tlsFailureCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (typeof code !== 'string') return undefined;
  if (TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return code;
  return undefined;
}

/** A TLS failure as an `FtpTlsError` naming `host:port`; any other error unchanged. */
export function classifyTlsError(err: unknown, endpoint: string): unknown {
  if (err instanceof FtpAccessError) return err;
  const code = tlsFailureCode(err);
  if (code === undefined) return err;
  return new FtpTlsError(endpoint, (err as Error).message, code, { cause: err });
}

/**
 * Maps what basic-ftp (or the network) threw to this layer's error classes. Errors that are already
 * classified, and errors that are not about FTP at all (a local disk error), are returned unchanged.
 */
export function classifyFtpError(err: unknown): Error {
  if (err instanceof FtpAccessError) return err;
  if (err instanceof FTPError) return classifyReply(err);
  if (!(err instanceof Error)) return new FtpPermanentError(`ftp: ${String(err)}`, undefined, { cause: err });
  // A TLS failure outside the pool's connect (a data connection's handshake): the environment, never the file.
  const tlsCode = tlsFailureCode(err);
  if (tlsCode !== undefined) return new FtpTlsError('data connection', err.message, tlsCode, { cause: err });
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
