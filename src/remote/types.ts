// One interface for the file servers a source can poll: FTP/FTPS (src/remote/ftp.ts, over src/ftp) and SFTP
// (src/remote/sftp.ts). The pipeline talks to a RemoteClient and never learns which protocol it is.
//
// Errors are the same classes for both protocols (src/remote/errors.ts): FtpTransientError (the environment:
// retry with backoff, never a file's try; RemoteTrustError for a refused certificate or host key is one),
// FtpFileError (this file cannot be read/changed), FtpSizeMismatchError (the file changed), FtpPermanentError
// (bad credentials, unsupported operation), UnsafeNameError (a name that must never reach the server or disk).
import type { DownloadOptions, DownloadResult } from '../ftp/download';
import type { ListOptions, RemoteEntry, TimePrecision } from '../ftp/list';

export type { DownloadOptions, DownloadResult, ListOptions, RemoteEntry, TimePrecision };

export type RemoteProtocol = 'ftp' | 'sftp';

/** What `stat` knows of a regular file. */
export interface RemoteStat {
  mtimeMs: number;
  size: number;
}

/** One logged-in connection, lent by a `RemoteClient` for the duration of a callback. */
export interface RemoteSession {
  readonly protocol: RemoteProtocol;
  /**
   * Regular files under `opts.remoteDir` (recursively up to `opts.maxDepth` when `opts.recursive`), paths relative
   * to it. Unsafe names come back flagged (`unsafe`: the reason) and are never sent to the server; symlinks and
   * other non-files are left out (`opts.onSkip`).
   */
  list(opts: ListOptions): Promise<RemoteEntry[]>;
  /**
   * Downloads `remotePath` into `localPartPath`, resuming after the bytes already in the part file (positional
   * writes at absolute offsets), and checks the result has `opts.expectedSize` bytes (FtpSizeMismatchError if the
   * remote file changed). The caller renames the part (`finalizeDownload` in src/ftp/download.ts).
   */
  download(remotePath: string, localPartPath: string, opts: DownloadOptions): Promise<DownloadResult>;
  /** The file's size and mtime, or undefined when there is no regular file at `remotePath`. */
  stat(remotePath: string): Promise<RemoteStat | undefined>;
  /** Deletes a remote file. Idempotent: a file that is already gone is success. */
  delete(remotePath: string): Promise<void>;
  /**
   * Moves `remotePath` into `toDir` (created with its missing parents) under the same base name and returns the new
   * path. Idempotent: when the source is gone and the target exists, an earlier attempt did it. A file of that name in
   * `toDir` is replaced.
   */
  renameIntoDir(remotePath: string, toDir: string): Promise<string>;
}

/** Pool statistics, for metrics and tests. */
export interface RemotePoolStats {
  open: number;
  idle: number;
  busy: number;
  waiting: number;
}

/**
 * A pool of at most `maxConnections` logged-in sessions to one server, per worker process. Borrowers beyond it
 * wait in FIFO order; a session whose operation failed is closed and never lent again.
 */
export interface RemoteClient {
  readonly protocol: RemoteProtocol;
  /** `user@host:port` and the protocol; no secret. */
  readonly label: string;
  /** Runs `fn` with a session; `signal` aborts the wait for one. Errors come out classified, secrets redacted. */
  withSession<T>(fn: (session: RemoteSession) => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly stats: RemotePoolStats;
  /** Logs out idle sessions and fails waiters; busy sessions close when they come back. */
  close(): Promise<void>;
}

export interface RemotePoolOptions {
  maxConnections: number;
  /** Idle sessions are logged out after this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** An idle session older than this is checked before it is lent out. Default 10 s. */
  validateAfterIdleMs?: number;
}
