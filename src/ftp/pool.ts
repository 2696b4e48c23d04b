import { Client } from 'basic-ftp';
import { cleanRemoteError, SessionPool } from '../remote/session-pool';
import type { RemotePoolOptions } from '../remote/types';
import { describeEndpoint, toAccessOptions, type FtpEndpoint } from './connection-options';
import { classifyFtpError, classifyTlsError } from './errors';

export type FtpPoolOptions = RemotePoolOptions;

/**
 * At most `maxConnections` logged-in basic-ftp clients for one endpoint, reused: the generic SessionPool
 * (src/remote/session-pool.ts) with FTP's login, NOOP check and QUIT. Borrowers beyond the limit wait in FIFO order;
 * a client whose operation failed is closed, never lent again (its control connection may be mid-transfer or dead).
 */
export class FtpPool extends SessionPool<Client> {
  /** `user@host:port` of the server, for metrics and logs (never the password). */
  readonly label: string;

  constructor(
    private readonly endpoint: FtpEndpoint,
    options: FtpPoolOptions,
  ) {
    const label = describeEndpoint(endpoint);
    super(
      {
        label: `ftp://${label}`,
        connect: () => connectFtp(endpoint),
        // A server drops idle sessions (basic-ftp notices the FIN and marks the client closed); after a longer idle
        // time, a NOOP also catches connections that died silently.
        isClosed: (client) => client.closed,
        destroy: (client) => client.close(),
        logOut: quit,
        validate: async (client) => (await client.send('NOOP')).code < 400,
      },
      options,
    );
    this.label = label;
  }

  /**
   * Runs `fn` with a logged-in client. Waits for a free client when all are busy; `signal` aborts the wait.
   * Errors come out classified (`classifyFtpError`), with the password redacted.
   */
  withClient<T>(fn: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.with(fn, (err) => this.cleanError(err), signal);
  }

  /** Classified, the password redacted: servers and libraries may echo what they were sent. */
  cleanError(err: unknown): unknown {
    return cleanRemoteError(err, classifyFtpError, [this.endpoint.password]);
  }
}

async function connectFtp(endpoint: FtpEndpoint): Promise<Client> {
  const client = new Client(endpoint.timeoutMs);
  try {
    await client.access(toAccessOptions(endpoint));
    return client;
  } catch (err) {
    client.close();
    // A certificate that does not verify is named with the server it came from, typed (not by message text).
    throw classifyTlsError(err, `${endpoint.host}:${endpoint.port}`);
  }
}

// QUIT frees the server's slot at once; a bare socket close may keep it taken until the server notices.
async function quit(client: Client): Promise<void> {
  const sent = client.send('QUIT').catch(() => undefined);
  const timer = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
  await Promise.race([sent, timer]);
  client.close();
}
