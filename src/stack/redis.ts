import fs from 'node:fs';
import { spawnManaged } from './child';
import { freePort, waitForPort } from './ports';
import { redisServerBinary } from './tools';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server on loopback with its data in `dir` (append-only file on, so a restart on the
 * same dir and port keeps the ledger). Killed when this process exits.
 */
export async function startRedisServer(dir: string, port?: number): Promise<RedisServer> {
  fs.mkdirSync(dir, { recursive: true });
  const chosen = port ?? (await freePort());
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'];
  args.push('--appendfsync', 'everysec', '--protected-mode', 'no', '--logfile', '');
  const child = spawnManaged(redisServerBinary(), args);
  const exited = new Promise<never>((_, reject) =>
    child.process.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${child.output()}`))),
  );
  exited.catch(() => undefined); // it also rejects on a normal stop later
  await Promise.race([waitForPort(chosen), exited]);
  return { url: `redis://127.0.0.1:${chosen}`, port: chosen, stop: () => child.stop() };
}
