// TLS settings of the Temporal and Redis connections: their schema, and the start-up checks that need the file
// system (the certificate files exist and are readable) or several fields (cert with key, TLS with rediss).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { nonEmpty } from './fields';
import { isRecord, type Problem, type Raw } from './problems';
import { parseRedisUrl } from './redis-url';

/** `temporal.tls`: false, true (system CAs), or files for a private CA and a client certificate (mTLS). */
export const temporalTls = z.union(
  [
    z.boolean(),
    z.strictObject({
      ca: nonEmpty.optional(),
      cert: nonEmpty.optional(),
      key: nonEmpty.optional(),
      serverName: nonEmpty.optional(),
    }),
  ],
  { error: 'false, true, or { ca?, cert?, key?, serverName? } (files)' },
);

/** `redis.tls`: options of a rediss:// connection. */
export const redisTls = z.strictObject({
  ca: nonEmpty.optional(),
  servername: nonEmpty.optional(),
  rejectUnauthorized: z.boolean().default(true),
});

const FILE_KEYS = { temporal: ['ca', 'cert', 'key'], redis: ['ca'] } as const;

/** Problems of the TLS settings and of redis.user, with files resolved against `baseDir`. */
export function tlsProblems(raw: Raw, baseDir: string): Problem[] {
  return [...temporalTlsProblems(raw.temporal, baseDir), ...redisTlsProblems(raw.redis, baseDir)];
}

function temporalTlsProblems(temporal: unknown, baseDir: string): Problem[] {
  if (!isRecord(temporal) || !isRecord(temporal.tls)) return [];
  const tls = temporal.tls;
  const at = ['temporal', 'tls'];
  const problems = fileProblems(at, tls, FILE_KEYS.temporal, baseDir);
  const hasCert = tls.cert !== undefined;
  if (hasCert !== (tls.key !== undefined)) {
    problems.push({
      path: [...at, hasCert ? 'key' : 'cert'],
      problem: `required with ${hasCert ? 'cert' : 'key'} (a client certificate needs its private key)`,
      allowed: 'both cert and key (mTLS), or neither',
    });
  }
  return problems;
}

function redisTlsProblems(redis: unknown, baseDir: string): Problem[] {
  if (!isRecord(redis)) return [];
  const problems: Problem[] = [];
  let parsed: ReturnType<typeof parseRedisUrl> | undefined;
  try {
    parsed = parseRedisUrl(typeof redis.url === 'string' ? redis.url : 'redis://127.0.0.1:6379');
  } catch {
    parsed = undefined; // the url field reports it
  }
  if (isRecord(redis.tls)) {
    problems.push(...fileProblems(['redis', 'tls'], redis.tls, FILE_KEYS.redis, baseDir));
    if (parsed && !parsed.tls) {
      problems.push({
        path: ['redis', 'tls'],
        problem: 'set while redis.url does not use TLS',
        allowed: 'a rediss://, rediss+sentinel:// or rediss+cluster:// url, or no redis.tls',
        showGiven: false,
      });
    }
  }
  if (parsed?.user !== undefined && redis.user !== undefined) {
    problems.push({
      path: ['redis', 'user'],
      problem: 'set together with a user in redis.url',
      allowed: 'the user in redis.url or redis.user, not both',
    });
  }
  return problems;
}

function fileProblems(at: string[], section: Raw, keys: readonly string[], baseDir: string): Problem[] {
  return keys.flatMap((key): Problem[] => {
    const value = section[key];
    if (typeof value !== 'string' || value.trim() === '') return [];
    const file = path.resolve(baseDir, value);
    const problem = unreadable(file);
    return problem ? [{ path: [...at, key], problem: `${problem}: ${file}`, allowed: 'a readable file (PEM)' }] : [];
  });
}

/** Why `file` cannot be read, or undefined when it can. */
function unreadable(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isFile()) return 'not a file';
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`;
  }
}
