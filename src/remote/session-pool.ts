import { FtpTransientError } from '../ftp/errors';
import type { RemoteClient, RemotePoolOptions, RemotePoolStats, RemoteProtocol, RemoteSession } from './types';

/** What a pool needs to know about one kind of connection. */
export interface SessionFactory<S> {
  /** Opens and logs in a new connection. */
  connect(): Promise<S>;
  /** The connection is known to be dead. */
  isClosed(session: S): boolean;
  /** A cheap round trip for a connection idle a while; false when it failed. */
  validate(session: S): Promise<boolean>;
  /** Ends a connection politely, within about a second. */
  logOut(session: S): Promise<void>;
  /** Ends a connection at once. */
  destroy(session: S): void;
  /** For messages: `user@host:port`. */
  readonly label: string;
}

interface Idle<S> {
  session: S;
  since: number;
  timer: NodeJS.Timeout;
}

interface Waiter<S> {
  resolve: (session: S) => void;
  reject: (err: unknown) => void;
}

/**
 * At most `maxConnections` logged-in connections, reused; borrowers beyond wait in FIFO order; a connection whose
 * operation failed is destroyed, never lent again. FTP (src/ftp/pool.ts) and SFTP (src/remote/sftp.ts) use it.
 */
export class SessionPool<S> {
  private readonly idle: Idle<S>[] = [];
  private readonly waiters: Waiter<S>[] = [];
  private open = 0;
  private closed = false;
  private readonly idleTimeoutMs: number;
  private readonly validateAfterIdleMs: number;

  constructor(
    private readonly factory: SessionFactory<S>,
    private readonly options: RemotePoolOptions,
  ) {
    if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) {
      throw new RangeError(`maxConnections must be a positive integer, got ${options.maxConnections}`);
    }
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.validateAfterIdleMs = options.validateAfterIdleMs ?? 10_000;
  }

  get stats(): RemotePoolStats {
    return {
      open: this.open,
      idle: this.idle.length,
      busy: this.open - this.idle.length,
      waiting: this.waiters.length,
    };
  }

  /** Runs `fn` with a session; errors are passed through `clean` (classification, redaction). */
  async with<T>(fn: (session: S) => Promise<T>, clean: (err: unknown) => unknown, signal?: AbortSignal): Promise<T> {
    let session: S;
    try {
      session = await this.acquire(signal);
    } catch (err) {
      throw clean(err);
    }
    let result: T;
    try {
      result = await fn(session);
    } catch (err) {
      this.discard(session);
      throw clean(err);
    }
    this.release(session);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError());
    const idle = this.idle.splice(0);
    for (const entry of idle) clearTimeout(entry.timer);
    await Promise.all(idle.map((entry) => this.logOut(entry.session)));
  }

  private async acquire(signal: AbortSignal | undefined): Promise<S> {
    signal?.throwIfAborted();
    if (this.closed) throw this.closedError();
    for (let entry = this.idle.pop(); entry; entry = this.idle.pop()) {
      clearTimeout(entry.timer);
      if (await this.isUsable(entry)) return entry.session;
      this.destroy(entry.session);
    }
    if (this.open < this.options.maxConnections) return this.connect();
    return this.waitForSession(signal);
  }

  private async isUsable(entry: Idle<S>): Promise<boolean> {
    if (this.factory.isClosed(entry.session)) return false;
    if (Date.now() - entry.since < this.validateAfterIdleMs) return true;
    return this.factory.validate(entry.session).catch(() => false);
  }

  private async connect(): Promise<S> {
    this.open += 1;
    try {
      return await this.factory.connect();
    } catch (err) {
      this.open -= 1;
      this.serveNextWaiter();
      throw err;
    }
  }

  private waitForSession(signal: AbortSignal | undefined): Promise<S> {
    return new Promise<S>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        const reason: unknown = signal?.reason;
        reject(reason instanceof Error ? reason : new Error(`aborted while waiting for ${this.factory.label}`));
      };
      const waiter: Waiter<S> = {
        resolve: (session) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(session);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(session: S): void {
    if (this.closed || this.factory.isClosed(session)) return this.discard(session);
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(session);
    const timer = setTimeout(() => this.expireIdle(session), this.idleTimeoutMs);
    timer.unref();
    this.idle.push({ session, since: Date.now(), timer });
  }

  private expireIdle(session: S): void {
    const index = this.idle.findIndex((entry) => entry.session === session);
    if (index < 0) return;
    this.idle.splice(index, 1);
    void this.logOut(session);
  }

  private async logOut(session: S): Promise<void> {
    this.open -= 1;
    await this.factory.logOut(session).catch(() => undefined);
  }

  private discard(session: S): void {
    this.destroy(session);
    this.serveNextWaiter();
  }

  private destroy(session: S): void {
    this.factory.destroy(session);
    this.open -= 1;
  }

  private serveNextWaiter(): void {
    if (this.closed || this.open >= this.options.maxConnections) return;
    const waiter = this.waiters.shift();
    if (waiter) this.connect().then(waiter.resolve, waiter.reject);
  }

  private closedError(): Error {
    return new FtpTransientError(`connection pool for ${this.factory.label} is closed`, undefined);
  }
}

/**
 * `err` classified, with no secret in the message or stack of it or its causes: servers and libraries may echo what
 * they were sent, and Temporal serializes causes into the failure (history, pending activity details).
 */
export function cleanRemoteError(
  err: unknown,
  classify: (err: Error) => Error,
  secrets: readonly (string | undefined)[],
): unknown {
  if (!(err instanceof Error)) return err;
  const classified = classify(err);
  const present = secrets.filter((s): s is string => !!s);
  for (
    let e: unknown = classified, depth = 0;
    present.length && e instanceof Error && depth < 10;
    e = e.cause, depth++
  ) {
    for (const secret of present) {
      // Only where it is: some errors (an AbortSignal's DOMException) have a read-only message.
      if (e.message.includes(secret)) e.message = e.message.split(secret).join('***');
      if (e.stack?.includes(secret)) e.stack = e.stack.split(secret).join('***');
    }
  }
  return classified;
}

/** A RemoteClient over a SessionPool: each connection it lends is wrapped as the protocol's RemoteSession. */
export class PooledRemoteClient<S> implements RemoteClient {
  constructor(
    readonly protocol: RemoteProtocol,
    readonly label: string,
    private readonly sessions: SessionPool<S>,
    private readonly wrap: (connection: S) => RemoteSession,
    private readonly clean: (err: unknown) => unknown,
  ) {}

  get stats(): RemotePoolStats {
    return this.sessions.stats;
  }

  withSession<T>(fn: (session: RemoteSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.sessions.with((connection) => fn(this.wrap(connection)), this.clean, signal);
  }

  close(): Promise<void> {
    return this.sessions.close();
  }
}
