import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DEMO_PASSWORD_ENV } from '../../config';
import { startEmbeddedStack } from '../../stack/embedded';
import { printJson } from '../context';

interface StackOptions {
  dataDir: string;
  ftpRoot?: string;
  temporalPort: string;
  uiPort: string;
  redisPort: string;
  ftpPort: string;
}

export function registerStackCommand(program: Command): void {
  program
    .command('stack')
    .description('run the embedded stack in the foreground: Temporal dev server + UI, Redis, FTP over a folder')
    .option('--data-dir <dir>', 'where the servers keep their data', '.data/stack')
    .option('--ftp-root <dir>', 'folder served over FTP (default <data-dir>/ftp-root)')
    // The defaults are the ports of the default configuration: `stack`, then `worker`, needs no config file.
    .option('--temporal-port <port>', 'Temporal frontend', '7233')
    .option('--ui-port <port>', 'Temporal Web UI', '8233')
    .option('--redis-port <port>', 'Redis', '6379')
    .option('--ftp-port <port>', 'FTP', '2121')
    .action(async (options: StackOptions) => {
      const dataDir = path.resolve(options.dataDir);
      const { password, passwordFile } = stackPassword(dataDir);
      const stack = await startEmbeddedStack({
        dataDir,
        ftpPassword: password,
        ftpRoot: options.ftpRoot && path.resolve(options.ftpRoot),
        ports: {
          temporal: port('--temporal-port', options.temporalPort),
          ui: port('--ui-port', options.uiPort),
          redis: port('--redis-port', options.redisPort),
          ftp: port('--ftp-port', options.ftpPort),
        },
      });
      printJson({
        temporal: { address: stack.temporal.address, namespace: stack.temporal.namespace, ui: stack.temporal.uiUrl },
        redis: { url: stack.redis.url },
        ftp: {
          host: stack.ftp.host,
          port: stack.ftp.port,
          user: stack.ftp.user,
          root: stack.ftp.root,
          passwordEnv: DEMO_PASSWORD_ENV,
          passwordFile,
        },
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stack.stop();
    });
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new Error(`${flag} must be a TCP port (1-65535), got ${value}`);
  return n;
}

/** The FTP password: from FTP_INGEST_DEMO_PASSWORD, or a new random one kept in a 0600 file (never printed). */
function stackPassword(dataDir: string): { password: string; passwordFile?: string } {
  const fromEnv = process.env[DEMO_PASSWORD_ENV];
  if (fromEnv) return { password: fromEnv };
  const passwordFile = path.join(dataDir, 'ftp-password');
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(passwordFile)) fs.writeFileSync(passwordFile, randomBytes(12).toString('hex'), { mode: 0o600 });
  return { password: fs.readFileSync(passwordFile, 'utf8'), passwordFile };
}
