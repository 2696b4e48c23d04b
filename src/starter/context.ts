// What every command needs: the config, and connections that fail within seconds with a message naming the
// setting and the address (exit 3), instead of retrying for ever or printing a driver's stack trace.
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import Redis, { Cluster } from 'ioredis';
import { getSource, loadConfig, type AppConfig, type SourceConfig } from '../config';
import { redactUrlPassword } from '../config/errors';
import { closeRedis, redisClientSpec } from '../connections/redis';
import { explainConnectError, temporalConnectionOptions, TemporalTlsError } from '../connections/temporal';
import type { RedisClient } from '../ledger';
import type { Ledger } from '../ledger';
import { processorNames } from '../processors';
import { CliError, shortReason, unreachableError, usageError } from './errors';
import { ledgerOf } from '../connections/ledger';

export { printJson } from './output';

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

/** How long a command waits for a server before it gives up (env FTP_INGEST_CONNECT_TIMEOUT_MS). */
export const CONNECT_TIMEOUT_MS = Number(process.env.FTP_INGEST_CONNECT_TIMEOUT_MS ?? '') || 3_000;

/**
 * The config named by `--config` (or FTP_INGEST_CONFIG, or the built-in demo defaults), with processor names
 * checked against the registry, so processors added in src/processors/custom.ts are accepted.
 */
export function configFrom(options: GlobalOptions): AppConfig {
  return loadConfig({ file: options.config, processors: processorNames() });
}

/** The sources a command acts on: the one named by `--source`, or all. */
export function selectSources(config: AppConfig, sourceId: string | undefined): readonly SourceConfig[] {
  return sourceId === undefined ? config.sources : [getSource(config, sourceId)];
}

/** A configured source, or a usage error (exit 2) listing the configured ones. */
export function sourceFrom(config: AppConfig, sourceId: string): SourceConfig {
  return getSource(config, sourceId);
}

function temporalWhere(config: AppConfig): string {
  return `Temporal at ${config.temporal.address} (temporal.address, namespace ${config.temporal.namespace})`;
}

/** Errors of a Temporal call, in operator terms. */
export function temporalError(config: AppConfig, err: unknown): unknown {
  if (err instanceof CliError) return err;
  // Reachable, but one side refused the TLS handshake: the fix is in temporal.tls, not the network.
  if (err instanceof TemporalTlsError) return usageError(err.message, err);
  // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED: the server is away; 5 NOT_FOUND on a namespace: a config error.
  // The client's own errors ("Failed to list schedules") carry the gRPC error as their cause.
  const grpc = causesOf(err).find(isGrpcServiceError);
  const code = grpc ? Number(grpc.code) : undefined;
  const text = shortReason(err);
  if (code === 14 || code === 4 || /Failed to connect|deadline|ECONNREFUSED|UNAVAILABLE|transport/i.test(text)) {
    return unreachableError(`${temporalWhere(config)} is unreachable: ${text}`, err);
  }
  // Something answers there, but not Temporal's API: a web server, the Web UI's port, a proxy.
  const answer = shortReason(grpc ?? err);
  if (code === 12 || /HTTP status code \d+/.test(answer)) {
    return usageError(`${temporalWhere(config)} does not answer as a Temporal server: ${answer}`, err);
  }
  if (/Namespace .* is not found|namespace not found/i.test(text)) {
    return usageError(
      `namespace ${config.temporal.namespace} does not exist at ${config.temporal.address} (temporal.namespace)`,
      err,
    );
  }
  return err;
}

/** `err` and its causes, outermost first. */
function causesOf(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && chain.length < 8; e = e instanceof Error ? e.cause : undefined) {
    chain.push(e);
  }
  return chain;
}

/** Runs `fn` with a Temporal client, closing the connection afterwards. */
export async function withClient<T>(config: AppConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const options = temporalConnectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    const explained = await explainConnectError(config, options.tls, err);
    if (explained instanceof TemporalTlsError) throw usageError(explained.message, err);
    throw unreachableError(`${temporalWhere(config)} is unreachable: ${shortReason(err)}`, err);
  }
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace }));
  } catch (err) {
    throw temporalError(config, err);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function redisWhere(config: AppConfig): string {
  return `Redis at ${redactUrlPassword(config.redis.url)} (redis.url)`;
}

const REDIS_DOWN =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|connect ETIMEDOUT|Stream isn't writeable|MaxRetriesPerRequest|enableOfflineQueue|Reached the max retries/i;

/** Errors of a Redis call, in operator terms. */
export function redisError(config: AppConfig, err: unknown): unknown {
  if (err instanceof CliError) return err;
  const text = shortReason(err);
  if (REDIS_DOWN.test(text)) return unreachableError(`${redisWhere(config)} is unreachable: ${text}`, err);
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(text)) {
    return usageError(`${redisWhere(config)} refused the login: ${text} (redis.passwordEnv / redis.passwordFile)`, err);
  }
  return err;
}

/**
 * The ledger's client for `redis.url` (one node, Sentinel or Cluster; TLS, ACL user), made to fail fast: one
 * connection attempt within CONNECT_TIMEOUT_MS, no reconnects, no offline queue.
 */
function fastFailRedis(config: AppConfig): RedisClient {
  const spec = redisClientSpec(config);
  const once = {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
  };
  if (spec.kind === 'redis') {
    return new Redis({ ...spec.options, ...once, retryStrategy: () => null, sentinelRetryStrategy: () => null });
  }
  return new Cluster(spec.nodes, {
    ...spec.options,
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    redisOptions: { ...spec.options.redisOptions, connectTimeout: CONNECT_TIMEOUT_MS },
  });
}

/**
 * Runs `fn` with the ledger, closing the Redis connection afterwards. The connection is made first, once,
 * within CONNECT_TIMEOUT_MS; a command never queues behind a Redis that is away.
 */
export async function withLedger<T>(config: AppConfig, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const redis = fastFailRedis(config);
  let lastError: unknown;
  const remember = (err: unknown): void => {
    lastError = err;
  };
  redis.on('error', remember);
  if (redis instanceof Cluster) redis.on('node error', remember);
  try {
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      const cause = lastError ?? err;
      const mapped = redisError(config, cause);
      throw mapped instanceof CliError
        ? mapped
        : unreachableError(`${redisWhere(config)} is unreachable: ${shortReason(cause)}`, cause);
    }
    return await fn(ledgerOf(redis, config));
  } catch (err) {
    throw redisError(config, err);
  } finally {
    await closeRedis(redis, 500).catch(() => undefined);
  }
}
