import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DEMO_PASSWORD_ENV } from '../../config';
import { startEmbeddedStack } from '../../stack/embedded';
import { portIsFree } from '../../stack/ports';
import { printJson } from '../context';
import { usageError } from '../errors';
import { tcpPort } from '../parse';

interface StackOptions {
  dataDir: string;
  ftpRoot?: string;
  temporalPort: number;
  uiPort: number;
  redisPort: number;
  ftpPort: number;
}

/** Each fixed port: its flag and what listens on it, for the message when it is taken. */
const PORT_FLAGS = [
  ['temporalPort', '--temporal-port', 'Temporal'],
  ['uiPort', '--ui-port', 'Temporal Web UI'],
  ['redisPort', '--redis-port', 'Redis'],
  ['ftpPort', '--ftp-port', 'FTP'],
] as const;

export function registerStackCommand(program: Command): void {
  program
    .command('stack')
    .description('run the embedded stack in the foreground: Temporal dev server + UI, Redis, FTP over a folder')
    .option('--data-dir <dir>', 'where the servers keep their data', '.data/stack')
    .option('--ftp-root <dir>', 'folder served over FTP (default <data-dir>/ftp-root)')
    // The defaults are the ports of the default configuration: `stack`, then `worker`, needs no config file.
    .option('--temporal-port <port>', 'Temporal frontend', tcpPort, 7233)
    .option('--ui-port <port>', 'Temporal Web UI', tcpPort, 8233)
    .option('--redis-port <port>', 'Redis', tcpPort, 6379)
    .option('--ftp-port <port>', 'FTP', tcpPort, 2121)
    .action(async (options: StackOptions) => {
      await refuseTakenPorts(options);
      const dataDir = path.resolve(options.dataDir);
      const { password, passwordFile } = stackPassword(dataDir);
      const stack = await startEmbeddedStack({
        dataDir,
        ftpPassword: password,
        ftpRoot: options.ftpRoot && path.resolve(options.ftpRoot),
        ports: { temporal: options.temporalPort, ui: options.uiPort, redis: options.redisPort, ftp: options.ftpPort },
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

/**
 * Checked before any server starts: a second `stack` would otherwise fail deep inside one server with a bare
 * `listen EADDRINUSE` and leave the others to be stopped.
 */
async function refuseTakenPorts(options: StackOptions): Promise<void> {
  const taken: string[] = [];
  const flags: string[] = [];
  for (const [key, flag, what] of PORT_FLAGS) {
    if (await portIsFree(options[key])) continue;
    taken.push(`${options[key]} (${what})`);
    flags.push(flag);
  }
  if (taken.length === 0) return;
  throw usageError(
    `port already in use on 127.0.0.1: ${taken.join(', ')}; is another \`ftp-ingest stack\` running?\n` +
      `Stop it, or choose other ports with ${flags.join(', ')}`,
  );
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
