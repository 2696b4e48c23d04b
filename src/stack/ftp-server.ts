import fs from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { FileSystem, FtpSrv, type FtpConnection } from 'ftp-srv';
import { freePort } from './ports';

/** What the server has sent: lets tests and benchmarks count bytes and listings on the server side. */
export interface ServedBytes {
  /** File bytes sent in downloads since the start, per remote path and in total. */
  readonly perPath: Map<string, number>;
  total: number;
  /** Directory listings sent since the start, per directory. */
  readonly listings: Map<string, number>;
}

export interface EmbeddedFtpServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Local folder served as the FTP root. */
  readonly root: string;
  readonly served: ServedBytes;
  /** Passive-mode data ports: [first, last]. */
  readonly pasvPorts: readonly [number, number];
  /** Changes the password that new logins need (sessions already logged in keep going), e.g. a rotation. */
  setPassword?(password: string): void;
  stop(): Promise<void>;
}

const PASV_PORTS = 32;

export interface EmbeddedFtpOptions {
  root: string;
  user?: string;
  password?: string;
  port?: number;
  /** Address announced in passive-mode replies (default 127.0.0.1), e.g. a proxy's. */
  pasvHost?: string;
  /** Slows every download to about this many bytes per second (to make a transfer long enough to interrupt). */
  throttleBytesPerSecond?: number;
}

/** An in-process FTP server (ftp-srv) over a local folder, for the demo and the tests. */
export async function startEmbeddedFtpServer(options: EmbeddedFtpOptions): Promise<EmbeddedFtpServer> {
  fs.mkdirSync(options.root, { recursive: true });
  const port = options.port ?? (await freePort());
  const user = options.user ?? 'ingest';
  let password = options.password ?? 'ingest';
  const pasvMin = await freePort();
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`,
    pasv_url: options.pasvHost ?? '127.0.0.1',
    pasv_min: pasvMin,
    pasv_max: pasvMin + PASV_PORTS - 1,
    anonymous: false,
    greeting: 'ftp-ingest embedded server',
    log: silentLogger(),
  });
  const served: ServedBytes = { perPath: new Map(), total: 0, listings: new Map() };
  server.on('login', ({ connection, username, password: given }, resolve, reject) => {
    const countingFs = new CountingFileSystem(connection, options.root, served, options.throttleBytesPerSecond);
    if (username === user && given === password) resolve({ fs: countingFs });
    else reject(new Error('invalid credentials'));
  });
  // Connections closing mid-transfer are expected in tests; they must not crash the host process.
  server.on('client-error', () => undefined);
  await server.listen();
  return {
    host: '127.0.0.1',
    port,
    user,
    get password() {
      return password;
    },
    root: options.root,
    served,
    pasvPorts: [pasvMin, pasvMin + PASV_PORTS - 1],
    setPassword: (next) => {
      password = next;
    },
    stop: async () => {
      await server.close();
    },
  };
}

function silentLogger(): unknown {
  const noop = (): void => undefined;
  const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => logger };
  return logger;
}

/**
 * ftp-srv's RETR reads the data connection a tick after the file system's `read`, inside a promise it handles only
 * after its `150` reply: a data connection the client closed meanwhile (an aborted download) makes that read throw,
 * an unhandled rejection for a moment (Node's test runner fails the test file on it). A data connection that is
 * already gone when the file opens is refused in `read` instead (ftp-srv answers 551).
 */
function dataConnectionOpen(connection: FtpConnection): boolean {
  const { connector } = connection as unknown as { connector?: { socket?: Socket | null } };
  const socket = connector?.socket;
  return socket !== undefined && socket !== null && !socket.destroyed;
}

/** ftp-srv's file system over `root`, counting (and optionally throttling) the bytes of every download. */
class CountingFileSystem extends FileSystem {
  constructor(
    connection: FtpConnection,
    root: string,
    private readonly served: ServedBytes,
    private readonly bytesPerSecond: number | undefined,
  ) {
    super(connection, { root, cwd: '/' });
  }

  override async read(
    fileName: string,
    options?: { start?: unknown },
  ): Promise<{ stream: Readable; clientPath: string }> {
    const opened = (await super.read(fileName, options)) as { stream: Readable; clientPath: string };
    if (!dataConnectionOpen(this.connection)) {
      opened.stream.destroy();
      throw new Error('data connection closed before the transfer');
    }
    const counter = this.counter(opened.clientPath);
    // The client may abort mid-transfer: ftp-srv then destroys what we return, so release the file too.
    counter.once('close', () => opened.stream.destroy());
    return { ...opened, stream: opened.stream.pipe(counter) };
  }

  override async list(dir = '.'): Promise<unknown> {
    const listed = path.posix.resolve(this.currentDirectory(), dir);
    this.served.listings.set(listed, (this.served.listings.get(listed) ?? 0) + 1);
    return (await super.list(dir)) as unknown;
  }

  private counter(clientPath: string): Transform {
    const { served, bytesPerSecond } = this;
    return new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        served.total += chunk.length;
        served.perPath.set(clientPath, (served.perPath.get(clientPath) ?? 0) + chunk.length);
        const delayMs = bytesPerSecond ? (chunk.length / bytesPerSecond) * 1000 : 0;
        if (delayMs > 0) setTimeout(() => callback(null, chunk), delayMs);
        else callback(null, chunk);
      },
    });
  }
}
