import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { connectUpstream } from './tcp-proxy';

/** A TLS-terminating relay in front of a plain gRPC port that requires a client certificate (mTLS). */
export interface MtlsProxy {
  readonly host: string;
  readonly port: number;
  /** Handshakes that completed with a verified client certificate. */
  readonly authorized: number;
  /** Handshakes refused (no client certificate, one from another CA, or the client refused ours). */
  readonly refused: number;
  /** Stops listening and cuts every open connection. */
  close(): Promise<void>;
}

export interface MtlsProxyOptions {
  /** PEM files of the proxy's server certificate and key. */
  certFile: string;
  keyFile: string;
  /** PEM file of the CA that client certificates must chain to. */
  caFile: string;
}

/**
 * Terminates TLS on a loopback port, as a Temporal frontend with mTLS does, and relays each verified connection's
 * cleartext HTTP/2 to `target` (the dev server has no TLS option of its own).
 */
export async function mtlsProxy(target: { host: string; port: number }, options: MtlsProxyOptions): Promise<MtlsProxy> {
  const open = new Set<net.Socket>();
  const stats = { authorized: 0, refused: 0 };
  const server = tls.createServer(
    {
      key: fs.readFileSync(options.keyFile),
      cert: fs.readFileSync(options.certFile),
      ca: fs.readFileSync(options.caFile),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      stats.authorized += 1;
      const upstream = connectUpstream(client, target, open);
      client.pipe(upstream);
      upstream.pipe(client);
    },
  );
  server.on('tlsClientError', () => {
    stats.refused += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    get authorized() {
      return stats.authorized;
    },
    get refused() {
      return stats.refused;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
