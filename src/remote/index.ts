// The remote file server of a source, whichever protocol it speaks. See types.ts for the contract.
import { createHash } from 'node:crypto';
import { endpointKey } from '../ftp/connection-options';
import { FtpRemoteClient, type FtpRemoteEndpoint } from './ftp';
import { describeSftpEndpoint, SftpClient, type SftpEndpoint } from './sftp';
import type { RemoteClient, RemotePoolOptions, RemotePoolStats } from './types';

export * from './types';
export * from './errors';
export { FtpRemoteClient, FtpSession, type FtpRemoteEndpoint } from './ftp';
export { SftpClient, SftpSession, connectSftp, describeSftpEndpoint, type SftpEndpoint } from './sftp';
export { sha256Fingerprint, verifyHostKey, type HostKeyPolicy } from './host-keys';

export type RemoteEndpoint = FtpRemoteEndpoint | SftpEndpoint;

/** What one pool reports: its label (`ftp://user@host:port`, `sftp://…`), its maxConnections and its counts. */
export type RemotePoolSnapshot = RemotePoolStats & { endpoint: string; max: number };

/** A pool of sessions to one server, for the endpoint's protocol. */
export function createRemoteClient(endpoint: RemoteEndpoint, options: RemotePoolOptions): RemoteClient {
  return endpoint.protocol === 'sftp' ? new SftpClient(endpoint, options) : new FtpRemoteClient(endpoint, options);
}

/** A key that tells pools apart, with digests (never values) of the credentials and trust settings. */
export function remoteEndpointKey(endpoint: RemoteEndpoint): string {
  const digest = (value: unknown): string =>
    createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
  if (endpoint.protocol === 'ftp') return `${endpointKey(endpoint)} ${digest(endpoint.password)}`;
  const { password, privateKey, passphrase, hostKeys } = endpoint;
  return `${describeSftpEndpoint(endpoint)} ${digest([password, privateKey, passphrase, hostKeys])}`;
}

/**
 * One pool per endpoint and credentials in this process (two sources on the same server and user share one, unless
 * their credentials or trust settings differ).
 */
export class RemoteClients {
  private readonly clients = new Map<string, { client: RemoteClient; max: number }>();

  get(endpoint: RemoteEndpoint, options: RemotePoolOptions): RemoteClient {
    const key = remoteEndpointKey(endpoint);
    let entry = this.clients.get(key);
    if (!entry) {
      entry = { client: createRemoteClient(endpoint, options), max: options.maxConnections };
      this.clients.set(key, entry);
    }
    return entry.client;
  }

  /** Each pool's counts, labelled without secrets (the connection pool gauges of /metrics). */
  snapshot(): RemotePoolSnapshot[] {
    return [...this.clients.values()].map(({ client, max }) => ({ endpoint: client.label, max, ...client.stats }));
  }

  async closeAll(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(({ client }) => client.close()));
  }
}
export { remoteEndpointOf } from './endpoint';
