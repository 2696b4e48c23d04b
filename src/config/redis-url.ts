// The forms of `redis.url` (one node, Sentinel, Cluster) and their parser. Pure code: the config validates with
// it, src/connections/redis.ts builds the client from it.
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
