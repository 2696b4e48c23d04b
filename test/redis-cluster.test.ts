// The ledger and the pipeline on a real 3-master Redis Cluster (one replica per master), each with a master
// SIGKILLed mid-run: the replica takes over the source's slot, commits wait meanwhile (fail closed), and at the
// end nothing is committed twice (the ledger's commits counter equals the files) and nothing is lost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { usePipeline } from './helpers/pipeline';
import { useRedisCluster } from './helpers/redis-cluster';
import { runPipelineThroughFailover } from './helpers/topology-pipeline';
import { runLedgerRaceThroughFailover } from './helpers/topology-race';

const cluster = useRedisCluster();
const SOURCES = ['ingest-a', 'ingest-b', 'ingest-c'];
const pipeline = usePipeline({
  redisUrl: () => cluster.start(),
  sources: SOURCES.map((id) => ({ id, processor: { name: 'delay', options: { steps: 4, stepMs: 250 } } })),
});

/** A name whose slot's master still has a replica (every failover uses up one shard's replica). */
async function onReplicatedShard(candidates: string[]): Promise<string> {
  for (const name of candidates) if (await cluster.hasReplica(`{${name}}`)) return name;
  throw new Error('no shard with a replica left');
}

describe('Redis Cluster', () => {
  test('redis+cluster:// gives a Cluster client, and the ledger scripts run on it', async () => {
    assert.match(cluster.url, /^redis\+cluster:\/\/127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$/);
    assert.equal(pipeline.config.redis.url, cluster.url);
    assert.ok(pipeline.redis instanceof Cluster, 'a Cluster client');
    const { claims } = await pipeline.ledger.claimBatch('probe', [{ path: 'probe', mtimeMs: 1, size: 1 }], {
      clusterId: 'probe',
      pollRun: 'probe',
      leaseMs: 1_000,
      maxTries: 1,
      maxAcceptPerPoll: 1,
      maxInFlight: 1,
      versionPolicy: 'reprocess',
    });
    assert.equal(claims.length, 1);
    assert.equal((await pipeline.ledger.reject('probe', 'probe', claims[0]?.token ?? 0, 'probe')).ok, true);
  });

  test('pipeline: a master killed while files are in flight; every file DONE once', async (t) => {
    const source = await onReplicatedShard(SOURCES);
    const figures = await runPipelineThroughFailover(pipeline, source, 24, () => cluster.killMasterOf(`{${source}}`));
    t.diagnostic(JSON.stringify(figures));
    for (let i = 0; i < 24; i++) assert.ok(fs.existsSync(pipeline.processed(source, `f-${i}.csv`)));
  });

  test('ledger race: two clusters, 8 connections, a master killed during the commits', async (t) => {
    const source = await onReplicatedShard(Array.from({ length: 50 }, (_, i) => `race-${i}`));
    await runLedgerRaceThroughFailover(
      pipeline.config,
      source,
      (onKilled) => cluster.killMasterOf(`{${source}}`, { onKilled }),
      (m) => t.diagnostic(m),
    );
  });
});
