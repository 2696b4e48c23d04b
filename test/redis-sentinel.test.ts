// The ledger and the pipeline on a real Sentinel group (1 master, 1 replica, 3 sentinels), each with the master
// SIGKILLed mid-run: the sentinels promote the replica, the client follows it, commits wait meanwhile (fail
// closed), and nothing is committed twice (the ledger's commits counter equals the files) or lost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import Redis from 'ioredis';
import { connectLedgerRedis } from '../src/connections/redis';
import type { RedisClient } from '../src/ledger/scripts';
import { runLedgerRace } from './helpers/ledger-race';
import { usePipeline } from './helpers/pipeline';
import { useSentinelGroup } from './helpers/redis-cluster';
import { runPipelineThroughFailover } from './helpers/topology-pipeline';

const group = useSentinelGroup();
const pipeline = usePipeline({
  redisUrl: () => group.start(),
  sources: [{ id: 'ingest', processor: { name: 'delay', options: { steps: 4, stepMs: 250 } } }],
});

describe('Redis Sentinel', () => {
  test('redis+sentinel:// gives a client that asks the sentinels for the master', async () => {
    assert.match(group.url, /^redis\+sentinel:\/\/127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}\/ledger$/);
    assert.equal(pipeline.config.redis.url, group.url);
    assert.ok(pipeline.redis instanceof Redis);
    await pipeline.redis.set('probe', '1');
    const direct = new Redis({ port: group.master.port, lazyConnect: true });
    await direct.connect();
    assert.equal(await direct.get('probe'), '1', 'the write reached the master');
    direct.disconnect();
  });

  test('pipeline: the master killed while files are in flight; every file DONE once', async (t) => {
    const figures = await runPipelineThroughFailover(pipeline, 'ingest', 24, () => group.killMaster());
    t.diagnostic(JSON.stringify(figures));
    for (let i = 0; i < 24; i++) assert.ok(fs.existsSync(pipeline.processed('ingest', `f-${i}.csv`)));
  });

  test('ledger race: two clusters, 8 connections, the master killed during the commits', async (t) => {
    const clients: RedisClient[] = [];
    let failover: unknown;
    try {
      const figures = await runLedgerRace({
        connect: () => {
          const c = connectLedgerRedis(pipeline.config, {}, { onError: () => undefined });
          clients.push(c);
          return c;
        },
        source: 'race',
        files: 500,
        rounds: 4,
        leaseMs: 3_000, // a loaded machine: the claim phase must stay under half a lease
        resilient: true,
        duringAct: {
          round: 2,
          action: async () => {
            await sleep(2); // while the first commits are in flight
            failover = await group.killMaster();
          },
        },
        diagnostic: (m) => t.diagnostic(m),
      });
      t.diagnostic(`failover ${JSON.stringify(failover)}`);
      assert.equal(figures.commitCounter, figures.commits);
    } finally {
      clients.forEach((c) => c.disconnect());
    }
  });
});
