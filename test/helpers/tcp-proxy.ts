import net from 'node:net';
import { after } from 'node:test';

/** A loopback TCP relay in front of an FTP control port or an SSH server that counts, paces and can cut connections. */
export interface CountingProxy {
  readonly host: string;
  readonly port: number;
  /** Connections open right now. */
  readonly current: number;
  /** Most connections open at the same time. */
  readonly max: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Bytes relayed from the server to clients since the start. */
  readonly bytesToClients: number;
  /** Cuts every open connection (both sides), like a network drop. */
  dropAll(): void;
  /**
   * While held, new connections are accepted but nothing is relayed (a server that does not answer yet);
   * released, they go through with what they sent meanwhile. Open connections are not affected.
   */
  holdNew(held: boolean): void;
}

/**
 * Opens the relay's connection to `target` for `client`: both sockets are tracked in `open` until they close, and
 * either side closing (or failing) closes the other, like a cut cable. The caller pipes the bytes.
 */
export function connectUpstream(
  client: net.Socket,
  target: { host: string; port: number },
  open: Set<net.Socket>,
): net.Socket {
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
  return upstream;
}

/**
 * Relays control connections to `target` (or whole SSH connections); FTP data connections (PASV) still go to the
 * server directly. Counting here works for any server, in-process or not. `bytesPerSecond` slows what the server
 * sends (sshd cannot be throttled itself). Closed when the test file ends.
 */
export async function countingProxy(
  target: { host: string; port: number },
  options: { bytesPerSecond?: number } = {},
): Promise<CountingProxy> {
  const open = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let max = 0;
  let accepted = 0;
  let bytesToClients = 0;
  let held: (() => void)[] | undefined;
  const server = net.createServer((client) => {
    accepted += 1;
    clients.add(client);
    client.once('close', () => clients.delete(client));
    max = Math.max(max, clients.size);
    if (held) held.push(() => relay(client));
    else relay(client);
  });
  const relay = (client: net.Socket): void => {
    if (client.destroyed) return;
    const upstream = connectUpstream(client, target, open);
    client.pipe(upstream);
    // Server to client: counted, and paced to `bytesPerSecond` (per connection) when given.
    const rate = options.bytesPerSecond;
    upstream.on('data', (chunk: Buffer) => {
      bytesToClients += chunk.length;
      const flushed = client.write(chunk);
      if (!rate && flushed) return;
      upstream.pause();
      const paced = rate
        ? new Promise((resolve) => setTimeout(resolve, (chunk.length * 1000) / rate))
        : Promise.resolve();
      const drained = flushed ? Promise.resolve() : new Promise((resolve) => client.once('drain', resolve));
      void Promise.all([paced, drained]).then(() => upstream.resume());
    });
    upstream.on('end', () => client.end());
  };
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
    get bytesToClients() {
      return bytesToClients;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    holdNew(hold) {
      const waiting = held ?? [];
      held = hold ? waiting : undefined;
      if (!hold) waiting.forEach((start) => start());
    },
  };
}
