import fs from 'node:fs';
import { FtpSrv } from 'ftp-srv';
import { freePort } from './ports';

export interface EmbeddedFtpServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Local folder served as the FTP root. */
  readonly root: string;
  stop(): Promise<void>;
}

export interface EmbeddedFtpOptions {
  root: string;
  user?: string;
  password?: string;
  port?: number;
}

/** An in-process FTP server (ftp-srv) over a local folder, for the demo and the tests. */
export async function startEmbeddedFtpServer(options: EmbeddedFtpOptions): Promise<EmbeddedFtpServer> {
  fs.mkdirSync(options.root, { recursive: true });
  const port = options.port ?? (await freePort());
  const user = options.user ?? 'ingest';
  const password = options.password ?? 'ingest';
  const pasvMin = await freePort();
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`,
    pasv_url: '127.0.0.1',
    pasv_min: pasvMin,
    pasv_max: pasvMin + 200,
    anonymous: false,
    greeting: 'ftp-ingest embedded server',
    log: silentLogger(),
  });
  server.on('login', ({ username, password: given }, resolve, reject) => {
    if (username === user && given === password) resolve({ root: options.root });
    else reject(new Error('invalid credentials'));
  });
  // Connections closing mid-transfer are expected in tests; they must not crash the host process.
  server.on('client-error', () => undefined);
  await server.listen();
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    root: options.root,
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
