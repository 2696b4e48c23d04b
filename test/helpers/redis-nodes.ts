// Single redis-server and redis-sentinel processes for the topology helpers (redis-cluster.ts,
// redis-sentinel.ts): each on a free loopback port in its own directory, with one-shot commands that time out
// (a frozen node must not hang a test) and a poll-until helper.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { spawnManaged, type ManagedChild } from '../../src/stack/child';
import { freePort, waitForPort } from '../../src/stack/ports';
import { redisServerBinary } from '../../src/stack/tools';

export interface RedisNode {
  port: number;
  child: ManagedChild;
  /** SIGKILL; resolves once the process is gone (nothing can answer on its port after that). */
  kill(): Promise<void>;
}

export function binary(name: 'redis-cli' | 'redis-sentinel'): string {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return name;
}

/**
 * A redis-server (or, with `sentinel`, a sentinel reading dir/sentinel.conf) on a free port. Its port is picked
 * free just before the start and another process on this shared machine can bind it first: the node then exits
 * at once, and it is started again on another port (a listener that is not ours must not pass for it).
 */
export async function startNode(dir: string, args: string[], sentinel = false): Promise<RedisNode> {
  fs.mkdirSync(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const common = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--protected-mode', 'no'];
    const child = sentinel
      ? spawnManaged(redisServerBinary(), [path.join(dir, 'sentinel.conf'), '--sentinel', ...common, ...args])
      : // No snapshot and no AOF; a replica's full sync starts at once (the default waits 5 s for more replicas).
        spawnManaged(redisServerBinary(), [
          ...common,
          ...['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'],
          ...args,
        ]);
    const exited = new Promise<'exited'>((resolve) => child.process.once('exit', () => resolve('exited')));
    const kill = async (): Promise<void> => {
      child.process.kill('SIGKILL');
      await exited;
    };
    const started = await Promise.race([waitForPort(port, '127.0.0.1', 15_000).then(() => 'up' as const), exited]);
    if (started === 'up' && (await command(port, 'PING').catch(() => '')) === 'PONG') {
      return { port, child, kill };
    }
    await child.stop(1_000);
    if (attempt >= 3) throw new Error(`redis node did not start on port ${port}: ${child.output().slice(-2_000)}`);
  }
}

/** One command on a new connection; fails after 2 s without a reply (e.g. from a SIGSTOPped node). */
export async function command(port: number, ...args: (string | number)[]): Promise<unknown> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` every 100 ms (a throw counts as false) until it holds, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const ok = await check().catch((err: unknown) => {
      last = ` (last error: ${err instanceof Error ? err.message : String(err)})`;
      return false;
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms${last}`);
    await sleep(100);
  }
}

/** ROLE of a node: whether it is a replica with its link to the master up (state `connected`). */
export async function replicaInSync(port: number, masterPort?: number): Promise<boolean> {
  const role = (await command(port, 'ROLE')) as unknown[];
  return role[0] === 'slave' && role[3] === 'connected' && (masterPort === undefined || role[2] === masterPort);
}
