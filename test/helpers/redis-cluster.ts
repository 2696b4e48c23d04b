// Real Redis topologies for tests, on free loopback ports, each node in its own directory: a 3-master Redis
// Cluster with one replica per master, and a Sentinel group (1 master, 1 replica, 3 sentinels). Call the
// use…() functions at the top level of a test file (or a describe): servers start in `before` and every
// process is stopped in `after`, pass or fail.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { spawnManaged, type ManagedChild } from '../../src/stack/child';
import { freePort, waitForPort } from '../../src/stack/ports';
import { redisServerBinary } from '../../src/stack/tools';
import { tempDir } from './servers';

const run = promisify(execFile);

export interface RedisNode {
  port: number;
  child: ManagedChild;
  kill(): void;
}

function binary(name: 'redis-cli' | 'redis-sentinel'): string {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return name;
}

async function startNode(dir: string, args: string[], port?: number, sentinel = false): Promise<RedisNode> {
  fs.mkdirSync(dir, { recursive: true });
  const chosen = port ?? (await freePort());
  const common = ['--port', String(chosen), '--bind', '127.0.0.1', '--dir', dir, '--protected-mode', 'no'];
  const child = sentinel
    ? spawnManaged(redisServerBinary(), [path.join(dir, 'sentinel.conf'), '--sentinel', ...common, ...args])
    : spawnManaged(redisServerBinary(), [...common, '--save', '', '--appendonly', 'no', ...args]);
  await waitForPort(chosen, '127.0.0.1', 15_000);
  return { port: chosen, child, kill: () => child.process.kill('SIGKILL') };
}

const client = (port: number): Redis =>
  new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });

async function command(port: number, ...args: (string | number)[]): Promise<unknown> {
  const redis = client(port);
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    redis.disconnect();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface TestRedisCluster {
  /** redis+cluster://… with every master as a seed (set once started). */
  url: string;
  /** Starts the cluster once (also called by `before`): resolves to the url. Hooks may run in any order. */
  start(): Promise<string>;
  nodes: RedisNode[];
  /** The node serving `key`'s slot as master now. */
  masterOf(key: string): Promise<RedisNode>;
  /** Whether the master of `key`'s slot has a connected replica (can fail over). */
  hasReplica(key: string): Promise<boolean>;
  /** SIGKILLs the master of `key`'s slot; resolves once its replica serves the slot, with the time it took. */
  killMasterOf(key: string): Promise<{ killed: number; promoted: number; ms: number }>;
}

/** A 3-master Redis Cluster, one replica per master, node timeout 1 s. */
export function useRedisCluster(): TestRedisCluster {
  const dir = tempDir('ftp-ingest-rcluster-');
  const cluster = { nodes: [] as RedisNode[] } as TestRedisCluster;

  let starting: Promise<string> | undefined;
  cluster.start = () => (starting ??= startCluster());
  before(() => cluster.start());

  async function startCluster(): Promise<string> {
    for (let i = 0; i < 6; i++) {
      const busPort = await freePort();
      const nodeDir = path.join(dir, `node-${i}`);
      cluster.nodes.push(
        await startNode(nodeDir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(nodeDir, 'nodes.conf'),
          '--cluster-node-timeout',
          '1000',
          '--cluster-port',
          String(busPort),
          '--cluster-replica-validity-factor',
          '0',
        ]),
      );
    }
    const addresses = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(binary('redis-cli'), ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
    await waitFor('cluster state ok on every node', async () => {
      const infos = await Promise.all(cluster.nodes.map((n) => command(n.port, 'CLUSTER', 'INFO')));
      return infos.every((info) => String(info).includes('cluster_state:ok'));
    });
    // Every replica in sync with its master, so that a failover loses nothing already replicated.
    await waitFor('replicas in sync', async () => {
      const roles = await Promise.all(cluster.nodes.map((n) => command(n.port, 'ROLE')));
      return roles.filter((r) => Array.isArray(r) && r[0] === 'slave' && r[3] === 'connected').length === 3;
    });
    const masters = await mastersNow();
    cluster.url = `redis+cluster://${[...masters.values()].map((p) => `127.0.0.1:${p}`).join(',')}`;
    return cluster.url;
  }

  after(async () => {
    await Promise.all(cluster.nodes.map((n) => n.child.stop(2_000)));
  });

  /** slot range start → master port, from a live node. */
  async function mastersNow(): Promise<Map<[number, number], number>> {
    for (const node of cluster.nodes) {
      try {
        const slots = (await command(node.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        return new Map(slots.map(([from, to, master]) => [[from, to], Number(master[1])]));
      } catch {
        // a killed node: ask another
      }
    }
    throw new Error('no cluster node answers');
  }

  const portOf = async (key: string): Promise<number> => {
    const slot = calculateSlot(key);
    for (const [[from, to], port] of await mastersNow()) if (slot >= from && slot <= to) return port;
    throw new Error(`slot ${slot} is not served`);
  };
  const nodeOf = (port: number): RedisNode => {
    const node = cluster.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  };

  cluster.masterOf = async (key) => nodeOf(await portOf(key));
  cluster.hasReplica = async (key) => {
    const role = (await command(await portOf(key), 'ROLE')) as [string, number, unknown[]];
    return role[0] === 'master' && role[2].length > 0;
  };
  cluster.killMasterOf = async (key) => {
    const killed = await portOf(key);
    const started = performance.now();
    nodeOf(killed).kill();
    let promoted = killed;
    await waitFor('a replica takes over the slot', async () => {
      promoted = await portOf(key);
      if (promoted === killed) return false;
      const info = String(await command(promoted, 'CLUSTER', 'INFO'));
      return info.includes('cluster_state:ok');
    });
    return { killed, promoted, ms: Math.round(performance.now() - started) };
  };
  return cluster;
}

export interface TestSentinelGroup {
  /** redis+sentinel://s1,s2,s3/<master name> (set once started). */
  url: string;
  /** Starts the group once (also called by `before`): resolves to the url. Hooks may run in any order. */
  start(): Promise<string>;
  masterName: string;
  master: RedisNode;
  replica: RedisNode;
  sentinels: RedisNode[];
  /**
   * SIGKILLs the master; resolves once the sentinels name the replica as master and it accepts writes. Then
   * starts the killed node again as a replica of the new master (empty, it resyncs), so it can fail over again.
   */
  killMaster(): Promise<{ ms: number }>;
}

/** 1 master, 1 replica, 3 sentinels (quorum 2, down-after 1 s). */
export function useSentinelGroup(masterName = 'ledger'): TestSentinelGroup {
  const dir = tempDir('ftp-ingest-sentinel-');
  const group = { masterName, sentinels: [] as RedisNode[] } as TestSentinelGroup;

  let starting: Promise<string> | undefined;
  group.start = () => (starting ??= startGroup());
  before(() => group.start());

  async function startGroup(): Promise<string> {
    group.master = await startNode(path.join(dir, 'master'), []);
    group.replica = await startNode(path.join(dir, 'replica'), ['--replicaof', '127.0.0.1', String(group.master.port)]);
    await waitFor('replica in sync', async () => {
      const role = (await command(group.replica.port, 'ROLE')) as unknown[];
      return role[0] === 'slave' && role[3] === 'connected';
    });
    for (let i = 0; i < 3; i++) {
      const sentinelDir = path.join(dir, `sentinel-${i}`);
      fs.mkdirSync(sentinelDir, { recursive: true });
      fs.writeFileSync(
        path.join(sentinelDir, 'sentinel.conf'),
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${group.master.port} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      group.sentinels.push(await startNode(sentinelDir, [], undefined, true));
    }
    await waitFor('sentinels see each other and the replica', async () => {
      const views = await Promise.all(
        group.sentinels.map((s) => command(s.port, 'SENTINEL', 'MASTER', masterName) as Promise<string[]>),
      );
      return views.every((flat) => {
        const field = (name: string): string => flat[flat.indexOf(name) + 1] ?? '';
        return Number(field('num-other-sentinels')) === 2 && Number(field('num-slaves')) === 1;
      });
    });
    group.url = `redis+sentinel://${group.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`;
    return group.url;
  }

  after(async () => {
    await Promise.all([...group.sentinels, group.replica, group.master].map((n) => n?.child.stop(2_000)));
  });

  group.killMaster = async () => {
    const started = performance.now();
    group.master.kill();
    await waitFor('the sentinels promote the replica', async () => {
      const addr = (await command(group.sentinels[0]?.port ?? 0, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as
        string[] | null;
      if (Number(addr?.[1]) !== group.replica.port) return false;
      const role = (await command(group.replica.port, 'ROLE')) as unknown[];
      return role[0] === 'master';
    });
    const ms = Math.round(performance.now() - started);
    const old = group.master;
    group.master = group.replica;
    await old.child.stop(1_000);
    fs.rmSync(path.join(dir, `node-${old.port}`), { recursive: true, force: true });
    group.replica = await startNode(
      path.join(dir, `node-${old.port}`),
      ['--replicaof', '127.0.0.1', String(group.master.port)],
      old.port,
    );
    await waitFor('the old master back as a replica in sync', async () => {
      const role = (await command(group.replica.port, 'ROLE')) as unknown[];
      return role[0] === 'slave' && role[3] === 'connected';
    });
    return { ms };
  };
  return group;
}
