// A real 3-master Redis Cluster for tests (one replica per master), on free loopback ports, each node in its own
// directory. Call useRedisCluster() at the top level of a test file (or a describe): the nodes start in `before`
// and are stopped in `after`, pass or fail. The Sentinel group is in redis-sentinel.ts.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { freePort } from '../../src/stack/ports';
import { binary, command, startNode, waitFor, type RedisNode } from './redis-nodes';
import { tempDir } from './servers';

export type { RedisNode } from './redis-nodes';

const run = promisify(execFile);

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
  /**
   * SIGKILLs the master of `key`'s slot (`onKilled` once it is gone); resolves once its replica serves the
   * slot, with the time it took.
   */
  killMasterOf(
    key: string,
    options?: { onKilled?: () => void },
  ): Promise<{ killed: number; promoted: number; ms: number }>;
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
  cluster.killMasterOf = async (key, { onKilled } = {}) => {
    const killed = await portOf(key);
    const started = performance.now();
    await nodeOf(killed).kill();
    onKilled?.();
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
