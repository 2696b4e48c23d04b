import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { spawnManaged, type ManagedChild } from './child';
import { freePort, waitForPort } from './ports';
import { temporalBinary } from './tools';
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/search-attributes';

export interface TemporalDevServer {
  readonly address: string;
  readonly namespace: string;
  /** Web UI address, or undefined when started headless. */
  readonly uiUrl: string | undefined;
  readonly dbFile: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  /** Kept across restarts when given; a fresh file in `dataDir` otherwise. */
  dbFile?: string;
  dataDir: string;
  namespace?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
}

/**
 * Starts the Temporal CLI dev server on loopback with the project's search attributes registered, and waits
 * until its frontend answers. The server is killed when this process exits.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  // Free ports are picked before the server binds them: on a busy machine another process may take one in
  // between. Try again with new ports then (the ports the caller fixed stay as they are).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const namespace = options.namespace ?? 'default';
  const port = options.port ?? (await freePort());
  const dbFile = options.dbFile ?? path.join(options.dataDir, 'temporal.sqlite');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFile];
  args.push('--log-level', 'error', '--http-port', String(await freePort()));
  args.push('--metrics-port', String(await freePort()));
  args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  let uiUrl: string | undefined;
  if (options.headless ?? true) {
    args.push('--headless');
  } else {
    const uiPort = options.uiPort ?? (await freePort());
    args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  const child = spawnManaged(temporalBinary(), args);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(child, address, namespace);
  } catch (err) {
    await child.stop(1_000);
    throw new Error(`Temporal dev server did not start: ${(err as Error).message}\n${child.output()}`);
  }
  return { address, namespace, uiUrl, dbFile, stop: () => child.stop() };
}

async function waitUntilServing(child: ManagedChild, address: string, namespace: string): Promise<void> {
  const [host, port] = address.split(':') as [string, string];
  const exited = new Promise<never>((_, reject) =>
    child.process.once('exit', (code) => reject(new Error(`exited with code ${code}`))),
  );
  exited.catch(() => undefined); // it also rejects on a normal stop later
  await Promise.race([waitForPort(Number(port), host, 60_000), exited]);
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await connection.close();
  }
}
