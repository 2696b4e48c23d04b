// An FTP-aware TCP proxy for fault tests: relays the control connection, and for every passive-mode reply
// (EPSV 229 or PASV 227) opens a data listener of its own and rewrites the reply to point there, so that
// every data connection also runs through the proxy, for any server (ftp-srv, pure-ftpd), whatever its
// passive port range. It counts the bytes it relays and can cut data connections after K bytes.
import net from 'node:net';
import { after } from 'node:test';

export type CutMode = 'reset' | 'end';

export interface FtpProxyStats {
  controlConnections: number;
  dataConnections: number;
  /** File/listing bytes relayed from the server to the client over data connections. */
  dataBytes: number;
  /** Data connections cut by the proxy. */
  cuts: number;
  /** Offsets of the `REST <n>` commands clients sent (n > 0: a resumed download). */
  restOffsets: number[];
  /** Arguments of the RETR commands clients sent. */
  retrieved: string[];
}

export interface CutPolicy {
  /** Cut a data connection once it relayed this many bytes to the client. */
  afterBytes: number;
  /** How many data connections to cut (then relay normally). */
  times: number;
  /** `reset`: RST both ways (a dropped network); `end`: FIN to the client, as if the transfer were complete. */
  modes: CutMode[];
}

export interface FtpProxy {
  readonly host: string;
  readonly stats: FtpProxyStats;
  /** Starts relaying to `target` (again: the same address); returns the proxy's control address. */
  start(target: { host: string; port: number }): Promise<{ host: string; port: number }>;
  /** Cuts the next data connections that carry more than `afterBytes` (listings are short and pass). */
  cutData(policy: CutPolicy): void;
  /**
   * Sends `reply` on the control connection once the next data connection has relayed its first chunk, and holds
   * the rest of the data a moment, as pure-ftpd does with a second `150` when a transfer is aborted (its
   * statistics line).
   */
  replyDuringNextTransfer(reply: string): void;
  /**
   * Answers the client's commands for which `rule` gives a reply itself (a file the server keeps busy, a server
   * without REST); the others go to the server. Commands are then relayed line by line (no FTPS through it).
   */
  answerCommands(rule: ((command: string) => string | undefined) | undefined): void;
}

/** Call at the top level of a test file: the proxy closes when the file ends. */
export function ftpProxy(host = '127.0.0.1'): FtpProxy {
  const stats: FtpProxyStats = {
    controlConnections: 0,
    dataConnections: 0,
    dataBytes: 0,
    cuts: 0,
    restOffsets: [],
    retrieved: [],
  };
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  let policy: CutPolicy | undefined;
  let cutsLeft = 0;
  let target: { host: string; port: number } | undefined;

  const track = (socket: net.Socket): net.Socket => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };

  const listen = (server: net.Server): Promise<number> =>
    new Promise((resolve, reject) => {
      servers.add(server);
      server.once('close', () => servers.delete(server));
      server.once('error', reject);
      server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
    });

  let pendingReply: string | undefined;
  let answerRule: ((command: string) => string | undefined) | undefined;

  // One data connection, relayed to the server's passive port; the listener takes one client and closes.
  const openDataListener = async (serverPort: number, control: net.Socket): Promise<number> => {
    const server = net.createServer((client) => {
      server.close();
      stats.dataConnections++;
      track(client);
      const upstream = track(net.connect(serverPort, target!.host));
      let relayed = 0;
      const cutMode = policy && cutsLeft > 0 ? policy.modes[stats.cuts % policy.modes.length] : undefined;
      const cutAfter = cutMode ? policy!.afterBytes : Infinity;
      let cut = false;
      upstream.on('data', (chunk: Buffer) => {
        if (cut) return;
        if (relayed + chunk.length < cutAfter) {
          relayed += chunk.length;
          stats.dataBytes += chunk.length;
          client.write(chunk);
          if (pendingReply !== undefined) {
            // The rest of the data waits a moment: the client handles the reply while the transfer still runs.
            control.write(pendingReply);
            upstream.pause();
            setTimeout(() => upstream.resume(), 300);
          }
          pendingReply = undefined;
          return;
        }
        cut = true;
        cutsLeft--;
        stats.cuts++;
        const head = chunk.subarray(0, cutAfter - relayed);
        relayed += head.length;
        stats.dataBytes += head.length;
        upstream.destroy();
        client.write(head, () => (cutMode === 'end' ? client.end() : client.resetAndDestroy()));
      });
      upstream.on('end', () => client.end());
      client.on('data', (chunk: Buffer) => upstream.write(chunk)); // uploads (not used by the pipeline)
      client.on('end', () => upstream.end());
      client.once('close', () => upstream.destroy());
    });
    const timer = setTimeout(() => server.close(), 30_000).unref(); // a reply the client never used
    server.once('close', () => clearTimeout(timer));
    return listen(server);
  };

  // Server → client control lines: passive replies are rewritten to a data listener of the proxy.
  const rewriteReply = async (line: string, control: net.Socket): Promise<string> => {
    const epsv = /^229 (.*)\(\|\|\|(\d+)\|\)(.*)$/s.exec(line);
    if (epsv) return `229 ${epsv[1]}(|||${await openDataListener(Number(epsv[2]), control)}|)${epsv[3]}`;
    const pasv = /^227 (.*)\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)(.*)$/s.exec(line);
    if (pasv) {
      const port = await openDataListener(Number(pasv[6]) * 256 + Number(pasv[7]), control);
      const address = `${host.split('.').join(',')},${Math.floor(port / 256)},${port % 256}`;
      return `227 ${pasv[1]}(${address})${pasv[8]}`;
    }
    return line;
  };

  const relayControl = (client: net.Socket): void => {
    stats.controlConnections++;
    track(client);
    const upstream = track(net.connect(target!.port, target!.host));
    let fromServer = '';
    let queue = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      fromServer += chunk.toString('latin1');
      const lines = fromServer.split(/(?<=\n)/);
      fromServer = lines.at(-1)!.endsWith('\n') ? '' : lines.pop()!;
      for (const line of lines) {
        queue = queue.then(async () => {
          if (!client.destroyed) client.write(Buffer.from(await rewriteReply(line, client), 'latin1'));
        });
      }
    });
    let fromClient = '';
    client.on('data', (chunk: Buffer) => {
      if (!answerRule) upstream.write(chunk);
      fromClient += chunk.toString('latin1');
      const lines = fromClient.split('\n');
      fromClient = lines.pop()!;
      for (const line of lines) {
        if (answerRule) {
          const reply = answerRule(line.replace(/\r$/, ''));
          if (reply === undefined) upstream.write(Buffer.from(`${line}\n`, 'latin1'));
          else queue = queue.then(() => void client.write(`${reply}\r\n`));
        }
        const rest = /^REST (\d+)/i.exec(line);
        if (rest) stats.restOffsets.push(Number(rest[1]));
        const retr = /^RETR (.*?)\r?$/i.exec(line);
        if (retr) stats.retrieved.push(retr[1]!);
      }
    });
    const closeBoth = (): void => {
      void queue.then(() => client.end());
      upstream.destroy();
    };
    upstream.once('close', closeBoth);
    client.once('close', () => upstream.destroy());
  };

  const control = net.createServer(relayControl);
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([...servers].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  return {
    host,
    stats,
    async start(to) {
      target = to;
      if (control.listening) return { host, port: (control.address() as net.AddressInfo).port };
      return { host, port: await listen(control) };
    },
    cutData(next) {
      policy = next;
      cutsLeft = next.times;
    },
    replyDuringNextTransfer(reply) {
      pendingReply = reply;
    },
    answerCommands(rule) {
      answerRule = rule;
    },
  };
}
