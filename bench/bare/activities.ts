import type Redis from 'ioredis';

/** No-op steps; commit counts the file in Redis so that the bench sees the run end (as the product's ledger). */
export function bareActivities(redis: Redis) {
  return {
    claim({ runTag, from, count }: { runTag: string; from: number; count: number }): Promise<string[]> {
      return Promise.resolve(Array.from({ length: count }, (_, i) => `${runTag}-f-${from + i}.bin`));
    },
    download(_input: { runTag: string; name: string }): Promise<void> {
      return Promise.resolve();
    },
    process(_input: { runTag: string; name: string }): Promise<void> {
      return Promise.resolve();
    },
    publish(_input: { runTag: string; name: string }): Promise<void> {
      return Promise.resolve();
    },
    async commit({ runTag }: { runTag: string; name: string }): Promise<void> {
      await redis.incr(`bare:${runTag}:done`);
    },
  };
}

export type BareActivities = ReturnType<typeof bareActivities>;
