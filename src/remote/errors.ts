// Both protocols throw the same classes, so the activities' `instanceof` checks work for FTP and SFTP alike.
import {
  FtpAccessError,
  FtpFileError,
  FtpPermanentError,
  FtpTransientError,
  NETWORK_ERRNOS,
  RemoteLoginError,
  RemoteTrustError,
} from '../ftp/errors';
import { UnsafeNameError } from '../ftp/names';

// The shared classes (and FTP's classifiers) are defined beside the FTP client, the first protocol.
export * from '../ftp/errors';
export { UnsafeNameError } from '../ftp/names';

export type HostKeyRefusal = 'unknown-host' | 'key-mismatch' | 'revoked' | 'fingerprint-mismatch';

/** An SFTP server whose host key is not the pinned one (or not known at all). Refused before any credential is sent. */
export class SftpHostKeyError extends RemoteTrustError {
  constructor(endpoint: string, reason: string, code: HostKeyRefusal, options?: { cause?: unknown }) {
    super(endpoint, reason, code, 'sftp: host key of', options);
  }
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** ssh2 tags its connection errors with a `level`; SFTP status errors carry the numeric status as `code`. */
interface Ssh2Error extends Error {
  level?: string;
  code?: number | string;
}

/** The SFTP status code of an error from an SFTP request, if it is one. */
export function sftpStatus(err: unknown): number | undefined {
  const code = err instanceof Error ? (err as Ssh2Error).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps what ssh2 (or the network) threw to the shared classes. Classification is by the typed fields (`level`,
 * numeric SFTP status, errno code), never by message text. Errors already classified, and errors that are not about
 * the connection (a local disk error), come back unchanged.
 */
export function classifySftpError(err: unknown): Error {
  if (err instanceof FtpAccessError || err instanceof UnsafeNameError) return err;
  if (!(err instanceof Error)) return new FtpPermanentError(`sftp: ${String(err)}`, undefined, { cause: err });
  const { level, code } = err as Ssh2Error;
  if (typeof code === 'number') {
    switch (code) {
      case SFTP_STATUS.NO_SUCH_FILE:
      case SFTP_STATUS.PERMISSION_DENIED:
      case SFTP_STATUS.FAILURE:
        return new FtpFileError(`sftp file error (${code}): ${err.message}`, undefined, { cause: err });
      case SFTP_STATUS.NO_CONNECTION:
      case SFTP_STATUS.CONNECTION_LOST:
        return new FtpTransientError(`sftp connection lost: ${err.message}`, undefined, { cause: err });
      default:
        return new FtpPermanentError(`sftp error (${code}): ${err.message}`, undefined, { cause: err });
    }
  }
  if (level === 'client-authentication') {
    return new RemoteLoginError(`sftp login refused: ${err.message}`, undefined, { cause: err });
  }
  if (level === 'client-socket' || level === 'client-timeout' || level === 'protocol' || level === 'handshake') {
    return new FtpTransientError(`sftp connection lost: ${err.message}`, undefined, { cause: err });
  }
  if (typeof code === 'string' && NETWORK_ERRNOS.has(code)) {
    return new FtpTransientError(`sftp connection lost: ${err.message}`, undefined, { cause: err });
  }
  return err;
}
