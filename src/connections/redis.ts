import Redis from 'ioredis';
import { redisPassword, type AppConfig } from '../config';

/**
 * A Redis client for the ledger. Commands fail (after a few reconnect tries) while Redis is away instead of
 * queueing forever, so activities fail closed and Temporal retries them.
 */
export function connectRedis(config: AppConfig, env: NodeJS.ProcessEnv = process.env): Redis {
  const redis = new Redis(config.redis.url, {
    password: redisPassword(config.redis, env),
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  // Without a listener ioredis prints every connection error as an "Unhandled error event" stack trace; the
  // commands that fail meanwhile report it where it matters (activities retry, the CLI explains).
  redis.on('error', () => undefined);
  return redis;
}
