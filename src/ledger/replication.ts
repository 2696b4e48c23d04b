// Waits until a ledger write has reached the replicas: Redis replicates asynchronously, so a master that dies
// right after acknowledging a commit can lose it in a failover (the file would then be processed again, and a
// token issued twice). With `replicas` set, a write counts only once WAIT confirms it; otherwise the call fails
// (fail closed) and its caller retries it, which every ledger script allows (each is fenced or idempotent).
import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './scripts';

export interface ReplicationGuard {
  /** Replicas that must have a write before it counts (0: do not wait). */
  replicas: number;
  /** How long to wait for them. */
  timeoutMs: number;
}

/** A write acknowledged by the master but not (yet) by enough replicas: retried like Redis being away. */
export class LedgerReplicationError extends Error {
  override readonly name = 'LedgerReplicationError';
}

/** WAIT on the connection that carried the write to `key` (on a Cluster: the master of its slot). */
export async function awaitReplicas(redis: RedisClient, key: string, guard: ReplicationGuard): Promise<void> {
  const acked = Number(await connectionOf(redis, key).call('WAIT', guard.replicas, guard.timeoutMs));
  if (acked < guard.replicas) {
    throw new LedgerReplicationError(
      `ledger write reached ${acked} of ${guard.replicas} replicas within ${guard.timeoutMs} ms; not counted, retried`,
    );
  }
}

function connectionOf(redis: RedisClient, key: string): Redis {
  if (!(redis instanceof Cluster)) return redis;
  const [master] = redis.slots[calculateSlot(key)] ?? [];
  const node = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
  if (!node) throw new LedgerReplicationError(`no master known for the slot of ${key}: retried`);
  return node;
}
