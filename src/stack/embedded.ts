import path from 'node:path';
import { startEmbeddedFtpServer, type EmbeddedFtpServer } from './ftp-server';
import { startRedisServer, type RedisServer } from './redis';
import { startTemporalDevServer, type TemporalDevServer } from './temporal';

export interface EmbeddedStack {
  temporal: TemporalDevServer;
  redis: RedisServer;
  ftp: EmbeddedFtpServer;
  stop(): Promise<void>;
}

export interface EmbeddedStackOptions {
  dataDir: string;
  ftpPassword: string;
  /** Folder served over FTP; `<dataDir>/ftp-root` by default. */
  ftpRoot?: string;
  headless?: boolean;
}

/** Temporal dev server, Redis and an in-process FTP server, all on loopback, data under `dataDir`. */
export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const [temporal, redis, ftp] = await Promise.all([
    startTemporalDevServer({ dataDir: path.join(options.dataDir, 'temporal'), headless: options.headless ?? false }),
    startRedisServer(path.join(options.dataDir, 'redis')),
    startEmbeddedFtpServer({
      root: options.ftpRoot ?? path.join(options.dataDir, 'ftp-root'),
      password: options.ftpPassword,
    }),
  ]);
  return {
    temporal,
    redis,
    ftp,
    async stop() {
      await Promise.all([ftp.stop(), redis.stop(), temporal.stop()]);
    },
  };
}
