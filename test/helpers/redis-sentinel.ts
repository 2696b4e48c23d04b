// A real Sentinel group for tests: 1 master, 1 replica and 3 sentinels on free loopback ports, each in its own
// directory. Call useSentinelGroup() at the top level of a test file (or a describe): the processes start in
// `before` and are stopped in `after`, pass or fail.
//
// A failover is over when the sentinels say so: killMaster waits for their +switch-master announcements (not
// for one sentinel's GET-MASTER-ADDR-BY-NAME, which changes before the switch is published), then brings the
// killed node back as a replica and waits until every sentinel counts it as a healthy replica again: a second
// failover started before that finds no replica to promote, and the sentinels retry only after 2 ×
// failover-timeout.
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import Redis from 'ioredis';
import { command, replicaInSync, startNode, waitFor, type RedisNode } from './redis-nodes';
import { tempDir } from './servers';

export interface FailoverFigures {
  /** From the SIGKILL until every sentinel that was listening announced the switch. */
  ms: number;
  /** Sentinels that announced it (a frozen one cannot). */
  announcedBy: number;
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
   * SIGKILLs the master (`onKilled` once it is gone); resolves once the sentinels have announced +switch-master to the replica and it is
   * master. Then (after `afterSwitch`) starts the killed node again, empty, as a replica of the new master and
   * waits until it is in sync and every sentinel counts it, so that the group can fail over again.
   */
  killMaster(options?: { onKilled?: () => void; afterSwitch?: () => Promise<void> }): Promise<FailoverFigures>;
}

/** Down after 1 s without a reply; quorum 2 of 3; a failed election is retried after 2 × 5 s. */
const sentinelConf = (masterName: string, masterPort: number): string =>
  [
    `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${masterName} 1000`,
    `sentinel failover-timeout ${masterName} 5000`,
    `sentinel parallel-syncs ${masterName} 1`,
    '',
  ].join('\n');

/** A SENTINEL reply (flat list of field, value) as an object. */
function fields(flat: unknown): Record<string, string> {
  const list = flat as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}

/** Subscribes to +switch-master on every sentinel that answers (a SIGSTOPped one is left out). */
async function watchSwitches(sentinels: RedisNode[], masterName: string) {
  const announced = new Map<number, number>(); // sentinel port → the new master's port it announced
  const clients: Redis[] = [];
  await Promise.all(
    sentinels.map(async (sentinel) => {
      const opts = { lazyConnect: true, retryStrategy: () => null, connectTimeout: 2_000, commandTimeout: 2_000 };
      const client = new Redis({ port: sentinel.port, host: '127.0.0.1', ...opts });
      client.on('error', () => undefined);
      clients.push(client);
      client.on('message', (_channel: string, message: string) => {
        const [name, , , , newPort] = message.split(' ');
        if (name === masterName) announced.set(sentinel.port, Number(newPort));
      });
      try {
        await client.connect();
        await client.subscribe('+switch-master');
      } catch {
        client.disconnect(); // not listening: it does not count
      }
    }),
  );
  const listening = clients.filter((c) => c.status === 'ready').length;
  return {
    listening,
    /** How many sentinels announced `port` as the new master. */
    announcing: (port: number): number => [...announced.values()].filter((p) => p === port).length,
    close: () => clients.forEach((c) => c.disconnect()),
  };
}

/** 1 master, 1 replica, 3 sentinels (quorum 2, down-after 1 s). */
export function useSentinelGroup(masterName = 'ledger'): TestSentinelGroup {
  const dir = tempDir('ftp-ingest-sentinel-');
  const group = { masterName, sentinels: [] as RedisNode[] } as TestSentinelGroup;
  let nodes = 0;
  const startServer = (args: string[]): Promise<RedisNode> => startNode(path.join(dir, `node-${++nodes}`), args);

  let starting: Promise<string> | undefined;
  group.start = () => (starting ??= startGroup());
  before(() => group.start());

  const sentinelLog = (): string =>
    group.sentinels.map((s, i) => `sentinel ${i + 1}:\n${s.child.output().slice(-1_500)}`).join('\n');

  /** Every sentinel names the master, sees the two others and counts the replica as healthy. */
  async function sentinelsAgree(): Promise<void> {
    const { master, replica } = group;
    const agrees = async (sentinel: RedisNode): Promise<boolean> => {
      const m = fields(await command(sentinel.port, 'SENTINEL', 'MASTER', masterName));
      if (Number(m.port) !== master.port || m.flags !== 'master' || Number(m['num-other-sentinels']) !== 2) {
        return false;
      }
      const replicas = ((await command(sentinel.port, 'SENTINEL', 'REPLICAS', masterName)) as unknown[]).map(fields);
      return replicas.some(
        (r) => Number(r.port) === replica.port && r.flags === 'slave' && r['master-link-status'] === 'ok',
      );
    };
    try {
      await waitFor('the sentinels agree on the master and count the replica', async () => {
        const views = await Promise.all(group.sentinels.map(agrees));
        return views.every(Boolean);
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${sentinelLog()}`);
    }
  }

  async function startGroup(): Promise<string> {
    group.master = await startServer([]);
    group.replica = await startServer(['--replicaof', '127.0.0.1', String(group.master.port)]);
    await waitFor('replica in sync', () => replicaInSync(group.replica.port, group.master.port));
    for (let i = 0; i < 3; i++) {
      const sentinelDir = path.join(dir, `sentinel-${i}`);
      fs.mkdirSync(sentinelDir, { recursive: true });
      fs.writeFileSync(path.join(sentinelDir, 'sentinel.conf'), sentinelConf(masterName, group.master.port));
      group.sentinels.push(await startNode(sentinelDir, [], true));
    }
    await sentinelsAgree();
    group.url = `redis+sentinel://${group.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`;
    return group.url;
  }

  after(async () => {
    await Promise.all([...group.sentinels, group.replica, group.master].map((n) => n?.child.stop(2_000)));
  });

  group.killMaster = async ({ onKilled, afterSwitch } = {}) => {
    const old = group.master;
    const promoted = group.replica;
    const watch = await watchSwitches(group.sentinels, masterName);
    const started = performance.now();
    let ms: number;
    try {
      if (watch.listening < 2) throw new Error(`only ${watch.listening} sentinels listening: no failover possible`);
      await old.kill();
      onKilled?.();
      // 45 s: a sentinel whose timer stalled 2 s (a loaded machine) stays in TILT mode, passive, for 30 s.
      const announced = (): Promise<boolean> => Promise.resolve(watch.announcing(promoted.port) === watch.listening);
      await waitFor('every listening sentinel announces +switch-master to the replica', announced, 45_000);
      ms = Math.round(performance.now() - started);
      await waitFor('the promoted replica is master', async () => {
        return ((await command(promoted.port, 'ROLE')) as unknown[])[0] === 'master';
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${sentinelLog()}`);
    } finally {
      watch.close();
    }
    group.master = promoted;
    await afterSwitch?.();
    await old.child.stop(1_000);
    // On a new port: the old one may have been taken by another process since the kill.
    group.replica = await startServer(['--replicaof', '127.0.0.1', String(promoted.port)]);
    await waitFor('the old master back as a replica in sync', () => replicaInSync(group.replica.port, promoted.port));
    // The sentinels would find the new replica in the master's INFO within 10 s; a reset asks at once (and
    // forgets the dead address; the sentinels find each other again within 2 s).
    for (const sentinel of group.sentinels) await command(sentinel.port, 'SENTINEL', 'RESET', masterName);
    await sentinelsAgree();
    return { ms, announcedBy: watch.listening };
  };
  return group;
}
