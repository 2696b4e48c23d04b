import type Redis from 'ioredis';

const noStep = (_input: { runTag: string; name: string }): Promise<void> => Promise.resolve();

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
    /** The fast path's shape: download, process and publish in one (local) activity. */
    async downloadProcessPublish(input: { runTag: string; name: string }): Promise<void> {
      for (const step of [noStep, noStep, noStep]) await step(input);
    },
    async commit({ runTag }: { runTag: string; name: string }): Promise<void> {
      await redis.incr(`bare:${runTag}:done`);
    },
  };
}

export type BareActivities = ReturnType<typeof bareActivities>;
