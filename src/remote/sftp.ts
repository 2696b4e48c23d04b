// SFTP sources over ssh2: the RemoteSession contract with host-key pinning, password or key login, resumable
// downloads (read from an offset, positional writes) and idempotent delete/rename.
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client as SshClient, type ConnectConfig, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import { checkDownloaded, openResumablePart, ResumeMismatch, resumeCheck, startOver } from '../ftp/download';
import { syncBehind } from '../ftp/sync-behind';
import { assertSafeCommandArg, checkSafeName, type NameCheck } from '../ftp/names';
import {
  classifySftpError,
  FtpAccessError,
  FtpFileError,
  FtpSizeMismatchError,
  FtpTransientError,
  RemoteLoginError,
  SFTP_STATUS,
  SftpHostKeyError,
  sftpStatus,
} from './errors';
import { verifyHostKey, type HostKeyPolicy, type HostKeyVerdict } from './host-keys';
import { cleanRemoteError, PooledRemoteClient, SessionPool, type SessionFactory } from './session-pool';
import type { DownloadOptions, DownloadResult, ListOptions, RemoteEntry, RemotePoolOptions } from './types';
import type { RemoteSession, RemoteStat } from './types';

/** Where and how to log in to one SFTP server. Secrets arrive at runtime and are never logged. */
export interface SftpEndpoint {
  readonly protocol: 'sftp';
  host: string;
  port: number;
  user: string;
  /** Password login (tried after the key when both are given). */
  password?: string;
  /** Private key (OpenSSH or PEM text) for public-key login. */
  privateKey?: string;
  /** Passphrase of an encrypted `privateKey`. */
  passphrase?: string;
  /** How the server's host key is checked; there is no "accept anything" mode. */
  hostKeys: HostKeyPolicy;
  /** Handshake timeout, and the keepalive budget that notices a dead connection. Default 20 s. */
  timeoutMs?: number;
}

export function describeSftpEndpoint(endpoint: SftpEndpoint): string {
  return `sftp://${endpoint.user}@${endpoint.host}:${endpoint.port}`;
}

/** One SSH connection with its SFTP channel. */
interface SftpConnection {
  readonly ssh: SshClient;
  readonly sftp: SFTPWrapper;
  closed: boolean;
}

/** Opens an SSH connection, checks the host key before any credential is sent, logs in and starts SFTP. */
export function connectSftp(endpoint: SftpEndpoint): Promise<SftpConnection> {
  const where = `${endpoint.host}:${endpoint.port}`;
  const timeoutMs = endpoint.timeoutMs ?? 20_000;
  return new Promise<SftpConnection>((resolve, reject) => {
    const ssh = new SshClient();
    let refused: Extract<HostKeyVerdict, { ok: false }> | undefined;
    let conn: SftpConnection | undefined;
    const fail = (err: unknown): void => {
      if (conn) conn.closed = true;
      ssh.end();
      if (refused) reject(new SftpHostKeyError(where, refused.reason, refused.code, { cause: err }));
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
    // Stays for the connection's life: an 'error' without a listener would crash the process.
    ssh.on('error', fail);
    ssh.on('close', () => fail(new FtpTransientError(`sftp connection to ${where} closed`, undefined)));
    ssh.on('ready', () => {
      ssh.sftp((err, sftp) => {
        if (err) return fail(err);
        conn = { ssh, sftp, closed: false };
        const opened = conn;
        const markClosed = (): void => void (opened.closed = true);
        sftp.on('close', markClosed);
        sftp.on('end', markClosed);
        ssh.on('close', markClosed);
        ssh.on('end', markClosed);
        resolve(opened);
      });
    });
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: Math.max(1_000, Math.floor(timeoutMs / 3)),
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer): boolean => {
        const verdict = verifyHostKey(endpoint.hostKeys, endpoint.host, endpoint.port, key);
        if (!verdict.ok) refused = verdict;
        return verdict.ok;
      },
      ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
      ...(endpoint.privateKey !== undefined ? { privateKey: endpoint.privateKey } : {}),
      ...(endpoint.passphrase !== undefined ? { passphrase: endpoint.passphrase } : {}),
    };
    try {
      ssh.connect(config);
    } catch (err) {
      // ssh2 parses the private key synchronously: a bad key or passphrase is a setup error, not the network.
      ssh.end();
      reject(new RemoteLoginError(`sftp ${where}: cannot use the private key: ${(err as Error).message}`, undefined));
    }
  });
}

function call<T>(fn: (cb: (err: Error | undefined | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function isNoSuchFile(err: unknown): boolean {
  return sftpStatus(err) === SFTP_STATUS.NO_SUCH_FILE;
}

/** The RemoteSession of one SFTP connection. */
export class SftpSession implements RemoteSession {
  readonly protocol = 'sftp';

  constructor(private readonly conn: SftpConnection) {}

  async list(opts: ListOptions): Promise<RemoteEntry[]> {
    return this.guard(async () => {
      const start = await call<string>((cb) => this.conn.sftp.realpath('.', cb));
      const baseDir = path.posix.resolve(start, opts.remoteDir || '.');
      const out: RemoteEntry[] = [];
      await this.walk(opts, out, baseDir, '', 0);
      return out;
    });
  }

  private async walk(
    opts: ListOptions,
    out: RemoteEntry[],
    absDir: string,
    relDir: string,
    depth: number,
  ): Promise<void> {
    const items = await call<FileEntryWithStats[]>((cb) => this.conn.sftp.readdir(absDir, cb));
    items.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    const subdirs: string[] = [];
    for (const item of items) {
      const name = item.filename;
      if (name === '.' || name === '..') continue;
      const relPath = relDir === '' ? name : `${relDir}/${name}`;
      const check = checkEntryName(name, relPath);
      const attrs = item.attrs;
      if (attrs.isDirectory()) {
        if (!opts.recursive || depth >= opts.maxDepth) continue;
        if (check.ok) subdirs.push(name);
        else opts.onSkip?.(relPath, `unsafe directory name: ${check.reason}`);
      } else if (attrs.isFile()) {
        const entry: RemoteEntry = {
          path: relPath,
          name,
          size: attrs.size,
          mtimeMs: attrs.mtime * 1000,
          isHidden: relPath.split('/').some((segment) => segment.startsWith('.')),
          precision: 's',
        };
        out.push(check.ok ? entry : { ...entry, unsafe: check.reason });
      } else {
        opts.onSkip?.(relPath, attrs.isSymbolicLink() ? 'symlink' : 'not a regular file');
      }
    }
    for (const name of subdirs) {
      await this.walk(opts, out, path.posix.join(absDir, name), relDir === '' ? name : `${relDir}/${name}`, depth + 1);
    }
  }

  async download(remotePath: string, localPartPath: string, opts: DownloadOptions): Promise<DownloadResult> {
    assertSafeCommandArg(remotePath);
    opts.signal?.throwIfAborted();
    const { part, resumedFrom } = await openResumablePart(localPartPath, opts.expectedSize);
    try {
      await this.guard(async () => {
        // Appending to a prefix of a file that has since changed would splice two versions.
        if (resumedFrom > 0) await this.assertSize(remotePath, opts.expectedSize);
        if (resumedFrom < opts.expectedSize || opts.expectedSize === 0) {
          await this.transfer(remotePath, part, resumedFrom, opts);
        }
      }, opts.signal);
    } catch (err) {
      if (err instanceof ResumeMismatch) throw await startOver('sftp', localPartPath, remotePath, err);
      throw err;
    } finally {
      await part.close().catch(() => undefined);
    }
    // A read that hit EOF early while the file still has its size cannot be the file's doing.
    return checkDownloaded('sftp', remotePath, localPartPath, opts.expectedSize, resumedFrom, async () => {
      return (await this.stat(remotePath))?.size === opts.expectedSize;
    });
  }

  private async transfer(
    remotePath: string,
    part: fs.promises.FileHandle,
    startAt: number,
    opts: DownloadOptions,
  ): Promise<void> {
    // Like FTP's, a resumed read starts a little early and checks those bytes against the part's: a part that some
    // fault filled with other bytes, or a file rewritten with the same size, would otherwise be spliced.
    const { check, fetchFrom } = await resumeCheck(part, startAt);
    const input = this.conn.sftp.createReadStream(remotePath, { start: fetchFrom, highWaterMark: 64 * 1024 });
    // Positional writes from the resume offset, never appends (see src/ftp/download.ts). The stream closes the handle
    // (with autoClose off, a stream keeps a reference that makes FileHandle.close() wait forever).
    const out = part.createWriteStream({ start: startAt });
    const closed = new Promise<void>((resolve) => out.once('close', resolve));
    let done = startAt;
    let lastReport = 0;
    const progress = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        const now = Date.now();
        if (now - lastReport >= 500) {
          lastReport = now;
          opts.onProgress?.(done);
        }
        callback(null, chunk);
      },
    });
    // Aborting ends the connection too (as the FTP side closes its client): the pool then discards it.
    const abort = (): void => {
      this.conn.ssh.end();
    };
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      const stages = [input, check, progress, ...syncBehind(part, opts.expectedSize - fetchFrom), out];
      await pipeline(stages, ...(opts.signal ? [{ signal: opts.signal }] : []));
    } finally {
      opts.signal?.removeEventListener('abort', abort);
      if (!out.destroyed) out.destroy();
      await closed; // the size check must see every byte on disk
    }
    opts.onProgress?.(done);
  }

  private async assertSize(remotePath: string, expectedSize: number): Promise<void> {
    const stats = await this.statRaw(remotePath);
    const size = stats?.isFile() ? stats.size : -1;
    if (size !== expectedSize) throw new FtpSizeMismatchError(remotePath, expectedSize, size);
  }

  private async statRaw(remotePath: string): Promise<Stats | undefined> {
    assertSafeCommandArg(remotePath);
    try {
      return await call<Stats>((cb) => this.conn.sftp.stat(remotePath, cb));
    } catch (err) {
      if (isNoSuchFile(err)) return undefined;
      throw err;
    }
  }

  async stat(remotePath: string): Promise<RemoteStat | undefined> {
    return this.guard(async () => {
      const stats = await this.statRaw(remotePath);
      return stats?.isFile() ? { mtimeMs: stats.mtime * 1000, size: stats.size } : undefined;
    });
  }

  async delete(remotePath: string): Promise<void> {
    assertSafeCommandArg(remotePath);
    return this.guard(async () => {
      try {
        await call<void>((cb) => this.conn.sftp.unlink(remotePath, (err) => cb(err, undefined)));
      } catch (err) {
        // Gone already (an earlier attempt deleted it): done.
        if (sftpStatus(err) !== undefined && (await this.statRaw(remotePath)) === undefined) return;
        throw err;
      }
    });
  }

  async renameIntoDir(remotePath: string, toDir: string): Promise<string> {
    const target = path.posix.join(toDir, path.posix.basename(remotePath));
    assertSafeCommandArg(remotePath);
    assertSafeCommandArg(target);
    return this.guard(async () => {
      await this.ensureDir(toDir);
      try {
        await call<void>((cb) => this.rename(remotePath, target, (err) => cb(err, undefined)));
      } catch (err) {
        if (
          sftpStatus(err) !== undefined &&
          (await this.statRaw(remotePath)) === undefined &&
          (await this.statRaw(target)) !== undefined
        ) {
          return target; // an earlier attempt moved it
        }
        throw err;
      }
      return target;
    });
  }

  /** `mkdir -p`: creates the missing folders of `dir`; one made meanwhile by another worker is fine. */
  private async ensureDir(dir: string): Promise<void> {
    assertSafeCommandArg(dir);
    if ((await this.statRaw(dir))?.isDirectory()) return;
    const absolute = dir.startsWith('/');
    const segments = dir.split('/').filter((segment) => segment !== '');
    for (let i = 1; i <= segments.length; i++) {
      const prefix = `${absolute ? '/' : ''}${segments.slice(0, i).join('/')}`;
      const stats = await this.statRaw(prefix);
      if (stats?.isDirectory()) continue;
      if (stats) throw new FtpFileError(`sftp: ${prefix} is not a directory`, undefined);
      try {
        await call<void>((cb) => this.conn.sftp.mkdir(prefix, (err) => cb(err, undefined)));
      } catch (err) {
        if (!(await this.statRaw(prefix))?.isDirectory()) throw err;
      }
    }
  }

  // posix-rename@openssh.com replaces an existing target (like FTP's RNTO); plain SFTP v3 rename refuses to.
  private rename(from: string, to: string, cb: (err: Error | undefined | null) => void): void {
    const sftp = this.conn.sftp as SFTPWrapper & { _extensions?: Record<string, string> };
    if (sftp._extensions?.['posix-rename@openssh.com'] === '1') sftp.ext_openssh_rename(from, to, cb);
    else sftp.rename(from, to, cb);
  }

  /**
   * Classifies errors of SFTP requests. ssh2 fails every request still pending when the connection drops with an
   * untyped error; the connection's state (closed), not the message, tells such an error from any other.
   */
  private async guard<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof FtpAccessError || err instanceof ResumeMismatch) throw err;
      await new Promise((resolve) => setImmediate(resolve)); // let the connection's close events land
      const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
      if (this.conn.closed && code === undefined) {
        throw new FtpTransientError(`sftp connection lost: ${(err as Error).message}`, undefined, { cause: err });
      }
      throw classifySftpError(err);
    }
  }
}

function checkEntryName(name: string, relPath: string): NameCheck {
  if (name.includes('/')) return { ok: false, reason: 'slash inside a name' };
  return checkSafeName(relPath);
}

/** A pool of SFTP sessions to one server (`maxConnections` SSH connections, one SFTP channel each). */
export class SftpClient extends PooledRemoteClient<SftpConnection> {
  constructor(endpoint: SftpEndpoint, options: RemotePoolOptions) {
    const label = describeSftpEndpoint(endpoint);
    const secrets = [endpoint.password, endpoint.passphrase];
    super(
      'sftp',
      label,
      new SessionPool<SftpConnection>(sftpConnections(endpoint, label), options),
      (conn) => new SftpSession(conn),
      (err) => cleanRemoteError(err, classifySftpError, secrets),
    );
  }
}

/** How the pool opens, checks and ends SSH connections. */
function sftpConnections(endpoint: SftpEndpoint, label: string): SessionFactory<SftpConnection> {
  const end = (conn: SftpConnection, how: 'end' | 'destroy'): void => {
    conn.closed = true;
    if (how === 'end') conn.ssh.end();
    else conn.ssh.destroy();
  };
  return {
    label,
    connect: () => connectSftp(endpoint),
    isClosed: (conn) => conn.closed,
    validate: (conn) => call<string>((cb) => conn.sftp.realpath('.', cb)).then(() => true),
    logOut: (conn) => Promise.resolve(end(conn, 'end')),
    destroy: (conn) => end(conn, 'destroy'),
  };
}
