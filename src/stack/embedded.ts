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
  /** Fixed ports (free ones when absent). */
  ports?: { temporal?: number; ui?: number; redis?: number; ftp?: number };
}

/** Temporal dev server, Redis and an in-process FTP server, all on loopback, data under `dataDir`. */
export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const [temporal, redis, ftp] = await Promise.all([
    startTemporalDevServer({
      dataDir: path.join(options.dataDir, 'temporal'),
      headless: options.headless ?? false,
      port: options.ports?.temporal,
      uiPort: options.ports?.ui,
    }),
    startRedisServer(path.join(options.dataDir, 'redis'), options.ports?.redis),
    startEmbeddedFtpServer({
      root: options.ftpRoot ?? path.join(options.dataDir, 'ftp-root'),
      password: options.ftpPassword,
      port: options.ports?.ftp,
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
