// The claim part of `npm run bench`: Ledger.claimBatch beside a re-implementation of the seed's per-file CAS loop
// (WATCH, HGETALL, MULTI/HSET/EXEC per name) on many listed names, in batches of 1,000: a first poll (all new) and
// a steady poll (all already claimed). It needs only a Redis, so `BENCH_ONLY=claim` runs it alone.
import Redis from 'ioredis';
import { Ledger } from '../src/ledger';
import { median, report, round } from './figures';

const CLAIM_BATCH = 1_000;

async function seedClaimLoop(redis: Redis, prefix: string, names: string[]): Promise<void> {
  // What the seed did per listed file (a metadata store's compare-and-set): watch the key, read the record,
  // write it in a transaction when it may be claimed, one round trip after the other.
  for (const name of names) {
    const key = `${prefix}:${name}`;
    await redis.watch(key);
    const record = await redis.hgetall(key);
    if (record.status === undefined || record.status === 'RETRY_WAIT') {
      await redis
        .multi()
        .hset(key, { status: 'IN_PROGRESS', tries: String(Number(record.tries ?? 0) + 1), lastTryAt: Date.now() })
        .exec();
    } else {
      await redis.unwatch();
    }
  }
}

async function productClaim(ledger: Ledger, sourceId: string, names: string[], pollRun: string): Promise<void> {
  for (let i = 0; i < names.length; i += CLAIM_BATCH) {
    const candidates = names.slice(i, i + CLAIM_BATCH).map((name) => ({ path: name, mtimeMs: 1_000, size: 1 }));
    await ledger.claimBatch(sourceId, candidates, {
      clusterId: 'bench',
      pollRun,
      leaseMs: 3_600_000,
      maxTries: 3,
      maxAcceptPerPoll: CLAIM_BATCH,
      maxInFlight: 1e9,
      versionPolicy: 'reprocess',
    });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** Runs the claim bench on the Redis at `redisUrl` (flushing its db between rounds). */
export async function benchClaim(
  redisUrl: string,
  claimNames: number,
  rounds: number,
): Promise<{ firstX: number; steadyX: number }> {
  const redis = new Redis(redisUrl);
  const ledger = new Ledger(redis, { prefix: 'claimbench' });
  const names = Array.from({ length: claimNames }, (_, i) => `dir-${i % 100}/file-${i}.csv`);
  const seed = { first: [] as number[], steady: [] as number[] };
  const product = { first: [] as number[], steady: [] as number[] };
  try {
    for (let r = 0; r < rounds; r++) {
      const runSeed = async (): Promise<void> => {
        seed.first.push(await timed(() => seedClaimLoop(redis, `seed-${r}`, names)));
        seed.steady.push(await timed(() => seedClaimLoop(redis, `seed-${r}`, names)));
      };
      const runProduct = async (): Promise<void> => {
        product.first.push(await timed(() => productClaim(ledger, `claim-${r}`, names, `first-${r}`)));
        product.steady.push(await timed(() => productClaim(ledger, `claim-${r}`, names, `steady-${r}`)));
      };
      // A/B interleaved, the order alternating per round.
      if (r % 2 === 0) await runSeed().then(runProduct);
      else await runProduct().then(runSeed);
      await redis.flushdb();
    }
  } finally {
    redis.disconnect();
  }
  const names1 = `${claimNames} names, batches of ${CLAIM_BATCH}`;
  report(`claim first poll: Ledger.claimBatch (${names1})`, median(product.first), 's', {
    name: 'seed per-file CAS loop',
    value: median(seed.first),
  });
  report(`claim steady poll: Ledger.claimBatch (${names1})`, median(product.steady), 's', {
    name: 'seed per-file CAS loop',
    value: median(seed.steady),
  });
  const firstX = median(seed.first) / median(product.first);
  const steadyX = median(seed.steady) / median(product.steady);
  console.log(`claim speed-up over the seed loop: first ${round(firstX, 1)}x, steady ${round(steadyX, 1)}x`);
  return { firstX, steadyX };
}
