import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { getSource, loadConfig, type AppConfig, type SourceConfig } from '../config';
import { closeRedis, connectRedis } from '../connections/redis';
import { connectClient } from '../connections/temporal';
import { Ledger } from '../ledger';
import { processorNames } from '../processors';

export interface GlobalOptions {
  config?: string;
}

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

/** Runs `fn` with a Temporal client, closing the connection afterwards. */
export async function withClient<T>(config: AppConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/** Runs `fn` with the ledger, closing the Redis connection afterwards. */
export async function withLedger<T>(config: AppConfig, fn: (ledger: Ledger, redis: Redis) => Promise<T>): Promise<T> {
  const redis = connectRedis(config);
  try {
    return await fn(new Ledger(redis, { prefix: config.redis.keyPrefix }), redis);
  } finally {
    await closeRedis(redis);
  }
}

/** Prints one JSON document on stdout (for scripts) */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
