import { Client } from 'basic-ftp';
import { describeEndpoint, redactSecret, toAccessOptions, type FtpEndpoint } from './connection-options';
import { classifyFtpError, classifyTlsError, FtpTransientError } from './errors';

export interface FtpPoolOptions {
  /** Logged-in clients this process may hold for the endpoint (servers cap connections per user). */
  maxConnections: number;
  /** Idle clients are logged out after this long so that other workers get the server's slots. Default 30 s. */
  idleTimeoutMs?: number;
  /** An idle client older than this is checked with NOOP before it is lent out. Default 10 s. */
  validateAfterIdleMs?: number;
}

interface IdleClient {
  client: Client;
  since: number;
  timer: NodeJS.Timeout;
}

interface Waiter {
  resolve: (client: Client) => void;
  reject: (err: unknown) => void;
}

/**
 * At most `maxConnections` logged-in clients for one endpoint, reused. Borrowers beyond the limit wait in
 * FIFO order; a client whose operation failed is closed, never lent again (its control connection may be
 * mid-transfer or dead).
 */
export class FtpPool {
  /** `user@host:port` of the server, for metrics and logs (never the password). */
  readonly label: string;
  private readonly idle: IdleClient[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;
  private readonly idleTimeoutMs: number;
  private readonly validateAfterIdleMs: number;

  constructor(
    private readonly endpoint: FtpEndpoint,
    private readonly options: FtpPoolOptions,
  ) {
    if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) {
      throw new RangeError(`maxConnections must be a positive integer, got ${options.maxConnections}`);
    }
    this.label = describeEndpoint(endpoint);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.validateAfterIdleMs = options.validateAfterIdleMs ?? 10_000;
  }

  /** Counts for metrics and tests. */
  get stats(): { open: number; idle: number; busy: number; waiting: number } {
    return {
      open: this.open,
      idle: this.idle.length,
      busy: this.open - this.idle.length,
      waiting: this.waiters.length,
    };
  }

  /**
   * Runs `fn` with a logged-in client. Waits for a free client when all are busy; `signal` aborts the wait.
   * Errors come out classified (`classifyFtpError`), with the password redacted.
   */
  async withClient<T>(fn: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let client: Client;
    try {
      client = await this.acquire(signal);
    } catch (err) {
      throw this.cleanError(err);
    }
    let result: T;
    try {
      result = await fn(client);
    } catch (err) {
      this.discard(client);
      throw this.cleanError(err);
    }
    this.release(client);
    return result;
  }

  /** Logs out idle clients, fails waiters; busy clients are closed when they come back. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError());
    const idle = this.idle.splice(0);
    for (const entry of idle) clearTimeout(entry.timer);
    await Promise.all(idle.map((entry) => this.logOut(entry.client)));
  }

  private async acquire(signal: AbortSignal | undefined): Promise<Client> {
    signal?.throwIfAborted();
    if (this.closed) throw this.closedError();
    for (let entry = this.idle.pop(); entry; entry = this.idle.pop()) {
      clearTimeout(entry.timer);
      if (await this.isUsable(entry)) return entry.client;
      this.closeClient(entry.client);
    }
    if (this.open < this.options.maxConnections) return this.connect();
    return this.waitForClient(signal);
  }

  // A server drops idle sessions (basic-ftp notices the FIN and marks the client closed); after a longer
  // idle time, a NOOP also catches connections that died silently.
  private async isUsable(entry: IdleClient): Promise<boolean> {
    if (entry.client.closed) return false;
    if (Date.now() - entry.since < this.validateAfterIdleMs) return true;
    try {
      await entry.client.send('NOOP');
      return true;
    } catch {
      return false;
    }
  }

  private async connect(): Promise<Client> {
    this.open += 1;
    const client = new Client(this.endpoint.timeoutMs);
    try {
      await client.access(toAccessOptions(this.endpoint));
      return client;
    } catch (err) {
      client.close();
      this.open -= 1;
      this.serveNextWaiter();
      // A certificate that does not verify is named with the server it came from, typed (not by message text).
      throw classifyTlsError(err, `${this.endpoint.host}:${this.endpoint.port}`);
    }
  }

  private waitForClient(signal: AbortSignal | undefined): Promise<Client> {
    return new Promise<Client>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        resolve: (client) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(client);
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

  private release(client: Client): void {
    if (this.closed || client.closed) return this.discard(client);
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(client);
    const timer = setTimeout(() => this.expireIdle(client), this.idleTimeoutMs);
    timer.unref();
    this.idle.push({ client, since: Date.now(), timer });
  }

  private expireIdle(client: Client): void {
    const index = this.idle.findIndex((entry) => entry.client === client);
    if (index < 0) return;
    this.idle.splice(index, 1);
    void this.logOut(client);
  }

  // QUIT frees the server's slot at once; a bare socket close may keep it taken until the server notices.
  private async logOut(client: Client): Promise<void> {
    this.open -= 1;
    const quit = client.send('QUIT').catch(() => undefined);
    const timer = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
    await Promise.race([quit, timer]);
    client.close();
  }

  private discard(client: Client): void {
    this.closeClient(client);
    this.serveNextWaiter();
  }

  private closeClient(client: Client): void {
    client.close();
    this.open -= 1;
  }

  // A slot came free: the longest waiter gets a fresh connection (or that connection's error).
  private serveNextWaiter(): void {
    if (this.closed || this.open >= this.options.maxConnections) return;
    const waiter = this.waiters.shift();
    if (waiter) this.connect().then(waiter.resolve, waiter.reject);
  }

  private closedError(): Error {
    return new FtpTransientError(`ftp pool for ${describeEndpoint(this.endpoint)} is closed`, undefined);
  }

  // Servers and libraries may echo what they were sent; the password must not travel on in an error.
  private cleanError(err: unknown): unknown {
    if (!(err instanceof Error)) return err;
    const classified = classifyFtpError(err);
    const { password } = this.endpoint;
    // The whole cause chain: Temporal serializes causes into the failure (history, pending activity details).
    for (let e: unknown = classified, depth = 0; password && e instanceof Error && depth < 10; e = e.cause, depth++) {
      if (e.message.includes(password) || e.stack?.includes(password)) {
        e.message = redactSecret(e.message, password);
        e.stack = redactSecret(e.stack ?? '', password);
      }
    }
    return classified;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted while waiting for an FTP connection');
}
