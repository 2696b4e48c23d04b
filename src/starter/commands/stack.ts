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
}

export function registerStackCommand(program: Command): void {
  program
    .command('stack')
    .description('run the embedded stack in the foreground: Temporal dev server + UI, Redis, FTP over a folder')
    .option('--data-dir <dir>', 'where the servers keep their data', '.data/stack')
    .option('--ftp-root <dir>', 'folder served over FTP (default <data-dir>/ftp-root)')
    .action(async (options: StackOptions) => {
      const dataDir = path.resolve(options.dataDir);
      const { password, passwordFile } = stackPassword(dataDir);
      const stack = await startEmbeddedStack({
        dataDir,
        ftpPassword: password,
        ftpRoot: options.ftpRoot && path.resolve(options.ftpRoot),
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

/** The FTP password: from FTP_INGEST_DEMO_PASSWORD, or a new random one kept in a 0600 file (never printed). */
function stackPassword(dataDir: string): { password: string; passwordFile?: string } {
  const fromEnv = process.env[DEMO_PASSWORD_ENV];
  if (fromEnv) return { password: fromEnv };
  const passwordFile = path.join(dataDir, 'ftp-password');
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(passwordFile)) fs.writeFileSync(passwordFile, randomBytes(12).toString('hex'), { mode: 0o600 });
  return { password: fs.readFileSync(passwordFile, 'utf8'), passwordFile };
}
