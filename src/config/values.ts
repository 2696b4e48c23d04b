// The textual forms of two kinds of setting, parsed by pure code (no Node built-ins) usable anywhere, workflow
// code included: durations, and the Redis URLs of `redis.url`.

// Durations: the file may say "250ms", "90s", "5m", "1h", "1d", "1h30m", "1.5s" or a number of milliseconds.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Human description of what `parseDuration` accepts, for error messages. */
export const DURATION_FORMS = 'a number of milliseconds, or a string like "250ms", "90s", "5m", "1h", "1h30m"';

/**
 * Milliseconds of a duration. Throws a `RangeError` saying what is accepted.
 * A bare number string ("60") is refused: it is too easy to mean seconds and get milliseconds.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return parseMillis(value);
  const text = value.trim();
  if (text === '') throw new RangeError('empty duration');
  if (/^\d+(\.\d+)?$/.test(text))
    throw new RangeError(`duration "${text}" has no unit (write "${text}ms" or "${text}s")`);
  if (!WHOLE.test(text)) throw new RangeError(`"${text}" is not a duration`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as Unit];
  return Math.round(total);
}

function parseMillis(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${value} is not a duration (must be >= 0 ms)`);
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not a whole number of milliseconds`);
  return value;
}

/** Compact form of a duration for messages: 35000 → "35s", 90000 → "1m30s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * UNIT_MS[unit];
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

// The forms of `redis.url` (one node, Sentinel, Cluster) and their parser: the config validates with it,
// src/connections/redis.ts builds the client from it.
//
//   redis://[user@]host[:port][/db]                    one node            (rediss:// = TLS)
//   redis+sentinel://[user@]h1[:p1],h2[:p2]/master[/db] Sentinel group     (rediss+sentinel:// = TLS everywhere)
//   redis+cluster://[user@]h1[:p1],h2[:p2]             Redis Cluster seeds (rediss+cluster:// = TLS)
//
// Passwords never go in the URL (redis.passwordEnv / passwordFile); query parameters are not read.

export type RedisTopology = 'single' | 'sentinel' | 'cluster';

export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface ParsedRedisUrl {
  readonly topology: RedisTopology;
  readonly tls: boolean;
  /** The node (single), the sentinels (sentinel) or the seed nodes (cluster); at least one. */
  readonly nodes: readonly RedisNodeAddress[];
  /** ACL user named in the URL. */
  readonly user?: string;
  /** Sentinel: the monitored master's name. */
  readonly masterName?: string;
  /** Database number (0 on a cluster, which has only database 0). */
  readonly db: number;
}

export const REDIS_URL_FORMS =
  'redis://[user@]host:port[/db], rediss://…, redis+sentinel://[user@]host1:port1,host2:port2/masterName[/db], ' +
  'redis+cluster://[user@]host1:port1,host2:port2 (rediss+sentinel:// and rediss+cluster:// for TLS); no password';

export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
  constructor(
    readonly problem: string,
    readonly allowed: string = REDIS_URL_FORMS,
  ) {
    super(`${problem}; allowed: ${allowed}`);
  }
}

const SCHEMES: Record<string, { topology: RedisTopology; tls: boolean }> = {
  redis: { topology: 'single', tls: false },
  rediss: { topology: 'single', tls: true },
  'redis+sentinel': { topology: 'sentinel', tls: false },
  'rediss+sentinel': { topology: 'sentinel', tls: true },
  'redis+cluster': { topology: 'cluster', tls: false },
  'rediss+cluster': { topology: 'cluster', tls: true },
};

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

/** Throws RedisUrlError naming the problem. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const match = /^([a-z+]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(url.trim());
  if (!match) throw new RedisUrlError('not a Redis URL');
  const [, rawScheme = '', userinfo, hostList = '', pathPart = '', rest] = match;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (!scheme) throw new RedisUrlError(`unsupported scheme "${rawScheme}://"`);
  if (userinfo !== undefined && userinfo.includes(':')) {
    throw new RedisUrlError(
      'a password inside the URL is refused (it would be logged and echoed)',
      'a URL without password; put the password in redis.passwordEnv (or redis.passwordFile)',
    );
  }
  if (rest !== undefined) throw new RedisUrlError('query parameters and fragments are not read', REDIS_URL_FORMS);
  const user = userinfo ? decodeURIComponent(userinfo) : undefined;
  const defaultPort = scheme.topology === 'sentinel' ? DEFAULT_SENTINEL_PORT : DEFAULT_PORT;
  const nodes = hostList.split(',').map((entry) => parseNode(entry, defaultPort));
  if (scheme.topology === 'single' && nodes.length > 1) {
    throw new RedisUrlError('several hosts in a single-node URL', 'redis+sentinel:// or redis+cluster:// for several');
  }
  const segments = pathPart.split('/').filter((s) => s !== '');
  const { masterName, db } = pathOf(scheme.topology, segments);
  return {
    topology: scheme.topology,
    tls: scheme.tls,
    nodes,
    ...(user ? { user } : {}),
    ...(masterName === undefined ? {} : { masterName }),
    db,
  };
}

function parseNode(entry: string, defaultPort: number): RedisNodeAddress {
  const m = HOST.exec(entry.trim());
  if (!m) throw new RedisUrlError(`"${entry}" is not host:port`);
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65_535) throw new RedisUrlError(`port ${port} out of range`, 'a port from 1 to 65535');
  return { host, port };
}

function pathOf(topology: RedisTopology, segments: string[]): { masterName?: string; db: number } {
  const dbOf = (s: string | undefined): number => {
    if (s === undefined) return 0;
    if (!/^\d{1,2}$/.test(s)) throw new RedisUrlError(`"${s}" is not a database number`, 'a number such as /0');
    return Number(s);
  };
  if (topology === 'single') {
    if (segments.length > 1) throw new RedisUrlError('path has more than a database number', '/<db>, e.g. /0');
    return { db: dbOf(segments[0]) };
  }
  if (topology === 'cluster') {
    if (segments.length > 0) throw new RedisUrlError('a cluster URL has no path (a cluster has only database 0)');
    return { db: 0 };
  }
  const [name, db, ...extra] = segments;
  if (name === undefined || extra.length > 0) {
    throw new RedisUrlError(
      'a Sentinel URL needs the master name as its path',
      'redis+sentinel://h1:26379,h2:26379/mymaster[/db]',
    );
  }
  return { masterName: decodeURIComponent(name), db: dbOf(db) };
}
