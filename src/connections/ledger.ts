import type { AppConfig } from '../config';
import { Ledger, type RedisClient } from '../ledger';

/** The ledger on `redis` with the config's key prefix and replication guard. */
export function ledgerOf(redis: RedisClient, config: AppConfig): Ledger {
  const { keyPrefix, waitForReplicas, replicaTimeoutMs } = config.redis;
  return new Ledger(redis, {
    prefix: keyPrefix,
    ...(waitForReplicas > 0 ? { replication: { replicas: waitForReplicas, timeoutMs: replicaTimeoutMs } } : {}),
  });
}
