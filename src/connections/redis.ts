// The ledger's Redis client for each topology of `redis.url`: one node, a Sentinel group (the client follows
// the master through failovers) or a Redis Cluster (all keys of a source share one slot, see ledger/keys.ts).
//
// Fail closed: while no master is reachable, commands fail after a short, bounded wait instead of queueing
// forever, so activities fail, Temporal retries them, and commits wait for Redis to come back.
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, redisPassword, type AppConfig, type ParsedRedisUrl, type RedisConfig } from '../config';
import type { RedisClient } from '../ledger/scripts';
import { log } from '../log';
import { SentinelRedis } from './sentinel-redis';

/** Reconnect attempts a command waits through before it fails (single node and Sentinel). */
export const MAX_RETRIES_PER_REQUEST = 3;
/** A command without a reply after this long fails (it may still run: every ledger script is fenced). */
export const COMMAND_TIMEOUT_MS = 15_000;

const backoff = (times: number): number => Math.min(times * 200, 2_000);

export interface RedisClientOptions {
  /** Called for each 'error' event (default: logged, at most once per message every 10 s). */
  onError?: (err: Error) => void;
}

/** The TLS options of a TLS url, with the CA file read now (its error names the setting). */
export function redisTlsOptions(redis: RedisConfig): ConnectionOptions {
  const tls = redis.tls;
  if (!tls) return {};
  let ca: Buffer | undefined;
  if (tls.ca) {
    try {
      ca = fs.readFileSync(tls.ca);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new Error(`cannot read redis.tls.ca (${tls.ca}): ${code}`);
    }
  }
  return {
    ...(ca ? { ca } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

/** Options shared by every connection to a Redis server (ACL user, password, TLS, fail-closed limits). */
function serverOptions(config: AppConfig, url: ParsedRedisUrl, env: NodeJS.ProcessEnv): RedisOptions {
  const username = url.user ?? config.redis.user;
  const password = redisPassword(config.redis, env);
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(url.tls ? { tls: redisTlsOptions(config.redis) } : {}),
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    commandTimeout: COMMAND_TIMEOUT_MS,
  };
}

/** Which ioredis client `redis.url` asks for, and its options (exported for tests). */
export function redisClientSpec(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
):
  | { kind: 'redis'; options: RedisOptions }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const url = parseRedisUrl(config.redis.url);
  const server = serverOptions(config, url, env);
  const nodes = url.nodes.map((n) => ({ host: n.host, port: n.port }));
  if (url.topology === 'cluster') {
    return {
      kind: 'cluster',
      nodes,
      options: {
        redisOptions: server,
        // Offline queue only until the first 'ready' (see connectLedgerRedis); then an outage fails fast.
        enableOfflineQueue: true,
        clusterRetryStrategy: backoff,
        // A command to a master that just died is retried while the cluster fails over, then fails.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 200,
        maxRedirections: 16,
        slotsRefreshTimeout: 2_000,
        scaleReads: 'master',
      },
    };
  }
  const db = url.db === 0 ? {} : { db: url.db };
  if (url.topology === 'sentinel') {
    return {
      kind: 'redis',
      options: {
        ...server,
        ...db,
        sentinels: nodes,
        name: url.masterName,
        role: 'master',
        // Sentinels are asked with the same TLS settings; they are contacted without ACL credentials.
        ...(url.tls ? { enableTLSForSentinelMode: true, sentinelTLS: redisTlsOptions(config.redis) } : {}),
        retryStrategy: backoff,
        sentinelRetryStrategy: backoff,
        // Reconnects at once when the sentinels announce a new master (+switch-master).
        failoverDetector: true,
        // A demoted master answers READONLY: reconnect (asking the sentinels again) and resend the command,
        // which did not run.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      },
    };
  }
  const [node] = nodes;
  return { kind: 'redis', options: { ...server, ...db, ...node, retryStrategy: backoff } };
}

/** Logs each distinct error message at most once every 10 s (ioredis repeats them at every reconnect). */
function throttledErrorLog(): (err: Error) => void {
  const last = new Map<string, number>();
  return (err) => {
    const now = Date.now();
    if ((last.get(err.message) ?? 0) > now - 10_000) return;
    last.set(err.message, now);
    if (last.size > 100) last.clear();
    log.warn({ err: err.message }, 'redis connection error');
  };
}

/** The ledger's client for `redis.url`: a Redis (one node or Sentinel) or a Cluster. */
export function connectLedgerRedis(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: RedisClientOptions = {},
): RedisClient {
  const spec = redisClientSpec(config, env);
  const onError = options.onError ?? throttledErrorLog();
  if (spec.kind === 'redis') {
    // A Sentinel client is kept connected through failovers (see sentinel-redis.ts).
    const client = spec.options.sentinels ? new SentinelRedis(spec.options, backoff) : new Redis(spec.options);
    client.on('error', onError); // an 'error' event without a listener prints a stack trace per reconnect
    return client;
  }
  const cluster = new Cluster(spec.nodes, spec.options);
  cluster.on('error', onError);
  cluster.on('node error', onError);
  cluster.once('ready', () => {
    cluster.options.enableOfflineQueue = false;
  });
  return cluster;
}

/**
 * The ledger's client, typed as `Redis` for callers that only hand it to the Ledger and disconnect it. For a
 * `redis+cluster://` url it is a `Cluster` (which has the same command and `disconnect` methods); callers that
 * type it as `RedisClient` should use connectLedgerRedis.
 */
export function connectRedis(config: AppConfig, env: NodeJS.ProcessEnv = process.env): Redis {
  return connectLedgerRedis(config, env) as Redis;
}

/**
 * Disconnects once the client is not in the middle of (re)connecting: ioredis throws "Cannot read properties of
 * null (reading 'once')" from a pending connect when `disconnect()` lands during it (an unhandled rejection
 * that failed test files after their tests passed, e.g. right after a Redis restart).
 */
export async function closeRedis(redis: RedisClient, settleMs = 2_000): Promise<void> {
  if (redis.status === 'connecting' || redis.status === 'reconnecting' || redis.status === 'connect') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, settleMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', done);
      redis.once('end', done);
    });
  }
  redis.disconnect();
}
