import fs from 'node:fs';
import path from 'node:path';

const projectRoot = path.resolve(__dirname, '..', '..');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function locate(name: string, envVar: string, extra: string[]): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const found = [...extra, onPath(name), `/usr/sbin/${name}`, `/usr/bin/${name}`].find((p) => p && fs.existsSync(p));
  if (!found) throw new Error(`${name} not found: run \`npm run setup\` or set ${envVar}`);
  return found;
}

/** The Temporal CLI: $FTP_INGEST_TEMPORAL_BIN, the project-local install of `npm run setup`, or PATH. */
export const temporalBinary = (): string =>
  locate('temporal', 'FTP_INGEST_TEMPORAL_BIN', [path.join(projectRoot, '.tools', 'temporal', 'bin', 'temporal')]);

export const redisServerBinary = (): string => locate('redis-server', 'FTP_INGEST_REDIS_BIN', []);

export const pureFtpdBinary = (): string => locate('pure-ftpd', 'FTP_INGEST_PUREFTPD_BIN', []);

export { projectRoot };
