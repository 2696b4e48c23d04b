// Waits until a ledger write has reached the replicas: Redis replicates asynchronously, so a master that dies
// right after acknowledging a commit can lose it in a failover (the file would then be processed again, and a
// token issued twice). With `replicas` set, a write counts only once WAIT confirms it; otherwise the call fails
// (fail closed) and its caller retries it, which every ledger script allows (each is fenced or idempotent).
//
// WAIT counts the replicas that have the writes of *its own connection*: on a connection opened after the write
// (a reconnect, e.g. to the new master after a failover) it has nothing to wait for and counts every replica at
// once. So the write's connection is noted right after its reply, and a WAIT answered on another one fails.
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

/** The connection a write to `key` went out on (on a Cluster: its slot's master): take it right after the reply. */
export interface WrittenOn {
  connection: Redis;
  stream: Redis['stream'];
}

export function writtenOn(redis: RedisClient, key: string): WrittenOn {
  const connection = connectionOf(redis, key);
  return { connection, stream: connection.stream };
}

/** WAIT on the connection that carried the write; the call fails if it was replaced meanwhile. */
export async function awaitReplicas(write: WrittenOn, guard: ReplicationGuard): Promise<void> {
  const { connection, stream } = write;
  const acked = Number(await connection.call('WAIT', guard.replicas, guard.timeoutMs));
  if (connection.stream !== stream) {
    throw new LedgerReplicationError(
      'the connection was replaced between the ledger write and WAIT; not counted, retried',
    );
  }
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
