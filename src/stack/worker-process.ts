import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflows } from '../plugins/worker';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../worker/memory';
import { spawnManaged, type ManagedChild } from './child';
import { projectRoot } from './tools';

/** Names a prebuilt workflow bundle for `ftp-ingest worker` (skips bundling at every worker start). */
export const WORKFLOW_BUNDLE_ENV = 'FTP_INGEST_WORKFLOW_BUNDLE';

/**
 * Bundles src/workflows (and the workflows of the plugins, given as the config's resolved `plugins`) once into
 * `file`, for many worker processes to load.
 */
export async function writeWorkflowBundle(file: string, pluginFiles: readonly string[] = []): Promise<string> {
  const code = await bundleWorkflows(pluginFiles);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
  return file;
}

export interface WorkerProcessOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  /** Appends the worker's output (JSON log lines) here. */
  logFile: string;
  /** Node flags of the worker process; WORKER_NODE_FLAGS (measured) by default. */
  nodeFlags?: readonly string[];
}

/**
 * Starts `ftp-ingest worker` as a child process (killed when this process exits), with the worker's memory
 * settings (src/worker/memory.ts); the caller's environment overrides WORKER_ENV.
 */
export function spawnWorkerProcess(options: WorkerProcessOptions): ManagedChild {
  const out = fs.openSync(options.logFile, 'a');
  const child = spawnManaged(
    process.execPath,
    [
      ...(options.nodeFlags ?? WORKER_NODE_FLAGS),
      path.join(projectRoot, 'bin', 'ftp-ingest.js'),
      '--config',
      options.configFile,
      'worker',
    ],
    { stdio: ['ignore', out, out], env: { ...WORKER_ENV, ...process.env, ...options.env } },
  );
  fs.closeSync(out);
  return child;
}
