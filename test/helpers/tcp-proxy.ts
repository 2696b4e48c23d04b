import net from 'node:net';
import { after } from 'node:test';

/** A loopback TCP relay in front of an FTP control port that counts and can cut connections. */
export interface CountingProxy {
  readonly host: string;
  readonly port: number;
  /** Connections open right now. */
  readonly current: number;
  /** Most connections open at the same time. */
  readonly max: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Cuts every open connection (both sides), like a network drop. */
  dropAll(): void;
}

/**
 * Relays control connections to `target`; data connections (PASV) still go to the server directly.
 * Counting here works for any server, in-process or not. Closed when the test file ends.
 */
export async function countingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  const open = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let max = 0;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    clients.add(client);
    client.once('close', () => clients.delete(client));
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    max = Math.max(max, clients.size);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    get current() {
      return clients.size;
    },
    get max() {
      return max;
    },
    get accepted() {
      return accepted;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
  };
}
