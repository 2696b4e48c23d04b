// The ledger and the pipeline on a real Sentinel group (1 master, 1 replica, 3 sentinels), each with the master
// SIGKILLed mid-run: the sentinels promote the replica, the client follows it, commits wait meanwhile (fail
// closed), and nothing is committed twice (the ledger's commits counter equals the files) or lost.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import Redis from 'ioredis';
import { connectLedgerRedis } from '../src/connections/redis';
import { Ledger, LedgerReplicationError, type ClaimBatchOptions } from '../src/ledger';
import { awaitReplicas, writtenOn } from '../src/ledger/replication';
import { usePipeline } from './helpers/pipeline';
import { waitFor } from './helpers/redis-nodes';
import { useSentinelGroup } from './helpers/redis-sentinel';
import { countingProxy } from './helpers/tcp-proxy';
import { runPipelineThroughFailover } from './helpers/topology-pipeline';
import { runLedgerRaceThroughFailover } from './helpers/topology-race';

const group = useSentinelGroup();
const guardClaim: ClaimBatchOptions = {
  clusterId: 'A',
  pollRun: 'run',
  leaseMs: 60_000,
  maxTries: 3,
  maxAcceptPerPoll: 10,
  maxInFlight: 10,
  versionPolicy: 'reprocess',
};
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

  test('with a replication guard a write counts once the replica has it', async () => {
    const ledger = new Ledger(pipeline.redis, { prefix: 'guarded', replication: { replicas: 1, timeoutMs: 2_000 } });
    const { claims } = await ledger.claimBatch('guard', [{ path: 'a', mtimeMs: 1, size: 1 }], guardClaim);
    const committed = await ledger.commit('guard', 'a', claims[0]?.token ?? 0);
    assert.ok(committed.ok, 'the replica confirmed both writes (WAIT 1)');
    const demanding = new Ledger(pipeline.redis, { prefix: 'guarded', replication: { replicas: 2, timeoutMs: 200 } });
    await assert.rejects(
      demanding.claimBatch('guard', [{ path: 'b', mtimeMs: 1, size: 1 }], guardClaim),
      LedgerReplicationError,
      'one replica cannot confirm two: the write is not counted, its caller retries',
    );
  });

  // ioredis (5.x) ended a Sentinel client for good when its failover detector heard +switch-master while the
  // client was asking a sentinel where the master is: every later command failed with "Connection is closed."
  // (a worker's ledger client dead until the worker restarted). Made certain here: the client's first sentinel
  // is behind a proxy that holds new connections from before the kill until the switch is announced, so the
  // client's lookup of the master is pending when its detector hears the switch.
  test('a client looking up the master when the switch is announced finds the new master', async (t) => {
    const [first, ...others] = group.sentinels;
    assert.ok(first);
    const proxy = await countingProxy({ host: '127.0.0.1', port: first.port });
    const sentinels = [proxy.port, ...others.map((s) => s.port)].map((port) => `127.0.0.1:${port}`);
    const url = `redis+sentinel://${sentinels.join(',')}/${group.masterName}`;
    const config = { ...pipeline.config, redis: { ...pipeline.config.redis, url } };
    const client = connectLedgerRedis(config, {}, { onError: () => undefined }) as Redis;
    try {
      // It asked the proxied sentinel (the first) and listens for +switch-master on all three.
      await once(client, 'failoverSubscribed', { signal: AbortSignal.timeout(15_000) });
      assert.equal(await client.set('before-switch', '1'), 'OK');
      const lookups = proxy.accepted;
      proxy.holdNew(true);
      let failover: unknown;
      try {
        failover = await group.killMaster({
          afterSwitch: async () => {
            await sleep(1_000); // the client's detector has heard the switch too (the same announcements)
            assert.ok(proxy.accepted > lookups, 'the client was looking up the master');
            proxy.holdNew(false);
          },
        });
      } finally {
        proxy.holdNew(false);
      }
      t.diagnostic(`failover ${JSON.stringify(failover)}`);
      await waitFor('the client writes again', async () => (await client.set('after-switch', '1')) === 'OK', 20_000);
      assert.equal(await client.get('before-switch'), '1', 'replicated before the kill');
      const direct = new Redis({ port: group.master.port, lazyConnect: true });
      await direct.connect();
      assert.equal(await direct.get('after-switch'), '1', 'the write reached the new master');
      direct.disconnect();
    } finally {
      client.disconnect();
    }
  });

  test('pipeline: the master killed while files are in flight; every file DONE once', async (t) => {
    const figures = await runPipelineThroughFailover(pipeline, 'ingest', 24, () => group.killMaster());
    t.diagnostic(JSON.stringify(figures));
    for (let i = 0; i < 24; i++) assert.ok(fs.existsSync(pipeline.processed('ingest', `f-${i}.csv`)));
  });

  test('ledger race: two clusters, 8 connections, the master killed during the commits', async (t) => {
    await runLedgerRaceThroughFailover(
      pipeline.config,
      'race',
      (onKilled) => group.killMaster({ onKilled }),
      (m) => t.diagnostic(m),
    );
  });

  // WAIT counts the replicas that have caught up with what its own connection has seen. The guard used to send
  // WAIT on whatever connection the client had by then: after a failover between a write and its WAIT, that is
  // a connection to the new master, whose replicas are in sync with it, so WAIT said yes for a write that the old
  // master may have taken with it. Now a WAIT answered on another connection than the write's does not count.
  test('a guarded write counts only through WAIT on the connection it went out on', async () => {
    const redis = new Redis({ port: group.master.port, lazyConnect: true });
    redis.on('error', () => undefined);
    try {
      const guard = { replicas: 1, timeoutMs: 2_000 };
      await redis.connect();
      await redis.set('guarded-write', '1');
      const write = writtenOn(redis, 'guarded-write');
      redis.disconnect(true); // a new connection, as after a failover
      await once(redis, 'ready', { signal: AbortSignal.timeout(10_000) });
      assert.equal(Number(await redis.call('WAIT', 1, 2_000)), 1, 'WAIT on the new connection says yes');
      await assert.rejects(awaitReplicas(write, guard), /connection was replaced/);
      await redis.set('guarded-write', '2');
      await awaitReplicas(writtenOn(redis, 'guarded-write'), guard); // on its own connection it counts
    } finally {
      redis.disconnect();
    }
  });
});
