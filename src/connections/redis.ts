import Redis from 'ioredis';
import { redisPassword, type AppConfig } from '../config';
import { log } from '../log';

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
  routeRedisErrors(redis);
  return redis;
}

/**
 * Connection errors as JSON log lines (ioredis prints raw "[ioredis] Unhandled error event" text to stderr when
 * nobody listens): one line when the connection fails, then at most one a minute while it stays down, and one
 * when it is back.
 */
export function routeRedisErrors(redis: Redis): void {
  let lastLogged = 0;
  let down = false;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (!down || now - lastLogged > 60_000) log.warn({ err }, 'redis connection error');
    lastLogged = now;
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis connection is back');
    down = false;
  });
}
