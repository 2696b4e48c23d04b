import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { startEmbeddedFtpServer, type EmbeddedFtpServer } from '../../src/stack/ftp-server';
import { startRedisServer, type RedisServer } from '../../src/stack/redis';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/stack/temporal';

/** A temp dir removed when the test file ends. */
export function tempDir(prefix = 'ftp-ingest-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // A worker process not yet stopped may still write here (random-kills' invocation log): retry, and never fail
  // the file over a temp dir left behind (it did: ENOTEMPTY after the tests passed).
  after(() => {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch {
      // left for the OS's temp cleaning
    }
  });
  return dir;
}

/**
 * A temp dir that its owner removes (`after` hooks run in the order they were registered: one registered by
 * `tempDir` at load time would remove the servers' data and the workers' logs before they are stopped).
 */
export function ownedTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A redis-server of this test file's own, stopped when the file ends (pass or fail). */
export async function testRedis(): Promise<RedisServer> {
  const server = await startRedisServer(path.join(tempDir('ftp-ingest-redis-'), 'data'));
  after(() => server.stop());
  return server;
}

/** A Temporal dev server of this test file's own, with the project's search attributes, stopped at the end. */
export async function testTemporal(): Promise<TemporalDevServer> {
  const server = await startTemporalDevServer({ dataDir: tempDir('ftp-ingest-temporal-') });
  after(() => server.stop());
  return server;
}

/** An in-process ftp-srv over a fresh folder, stopped at the end. */
export async function testFtp(): Promise<EmbeddedFtpServer> {
  const server = await startEmbeddedFtpServer({ root: tempDir('ftp-ingest-ftp-') });
  after(() => server.stop());
  return server;
}
