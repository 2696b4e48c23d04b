import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import type Redis from 'ioredis';
import { configuredSecrets, secretEnvNames, type AppConfig } from '../config';
import { withholdFromCommands } from '../processors/command';
import { createActivities } from '../activities';
import { metrics } from '../observability/metrics';
import { RemoteClients } from '../remote';
import { observeActivities } from './observe-activities';
import { redactActivityErrors } from './redact-activity-errors';
import { bundleWorkflows, workerPlugins } from '../plugins/worker';
import { ledgerOf } from '../connections/ledger';
import { pollTaskQueue } from '../shared/ids';

export interface IngestWorkerOptions {
  config: AppConfig;
  connection: NativeConnection;
  redis: Redis;
  env?: NodeJS.ProcessEnv;
  /** A prebuilt workflow bundle (faster start; with the config's plugins' workflows); bundled when absent. */
  workflowBundle?: { codePath: string };
}

export interface IngestWorker {
  /** Runs until shutdown() (or a fatal error); resolves when every worker has drained. */
  run(): Promise<void>;
  shutdown(): void;
}

/** Task queue served only by this host: the workDir of a host that does not share it (DESIGN.md §6). */
export function hostTaskQueue(config: AppConfig): string {
  return `${config.temporal.taskQueue}@${os.hostname()}`;
}

/**
 * The worker of one process: workflows and activities on the cluster's task queue, the polls' listings on their
 * own queue, plus a host-specific activity worker when the workDir is local to each host.
 */
export async function createIngestWorker(options: IngestWorkerOptions): Promise<IngestWorker> {
  const { config, connection } = options;
  withholdFromCommands(secretEnvNames(config));
  // One pool per server and credentials, whichever protocol; closed when the workers have drained.
  const remote = new RemoteClients();
  const unwatchPools = metrics.watchRemotePools(remote);
  const own = createActivities({
    config,
    ledger: ledgerOf(options.redis, config),
    remote,
    hostTaskQueue: hostTaskQueue(config),
    env: options.env,
  });
  // Plugins (config `plugins`): their processors are registered, their activities run beside ours.
  const plugins = workerPlugins(config);
  const activities = { ...own, ...plugins.activities(config, Object.keys(own)) };
  const common = {
    connection,
    namespace: config.temporal.namespace,
    activities,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    shutdownGraceTime: config.worker.shutdownGraceMs,
    // Logs and metrics of each file transition, from the activities' inputs and results; no secret in a failure.
    interceptors: { activity: [observeActivities, redactActivityErrors(() => configuredSecrets(config, options.env))] },
  };
  const workflowCode = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : plugins.hasWorkflows
      ? await plugins.workflowCode()
      : { workflowBundle: await quietBundle() };
  const workers = [
    await Worker.create({
      ...common,
      ...workflowCode,
      taskQueue: config.temporal.taskQueue,
      maxConcurrentWorkflowTaskExecutions: maxWorkflowTasks(config),
      // The SDK's default cache grows with the heap limit (about 2,300 workflows with a 4 GiB heap): with
      // thousands of files in flight that is most of a worker's memory. A file workflow's history is short
      // (about 24 events), so a workflow that was evicted replays cheaply (docs/PERFORMANCE.md).
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
    }),
  ];
  // The polls' listings, with slots of their own: one per source (its Schedule runs one poll at a time), and one
  // for an operator's `poll`.
  workers.push(
    await Worker.create({
      ...common,
      activities: { listAndClaim: own.listAndClaim },
      taskQueue: pollTaskQueue(config.temporal.taskQueue),
      maxConcurrentActivityTaskExecutions: Math.min(config.sources.length + 1, MAX_PARALLEL_POLLS),
    }),
  );
  if (!config.sharedWorkDir) {
    // A plugin's workflow processor runs on the host that holds the local copy: its queue runs workflows too.
    const hostWorkflows = plugins.hasWorkflows ? workflowCode : {};
    workers.push(await Worker.create({ ...common, ...hostWorkflows, taskQueue: hostTaskQueue(config) }));
  }
  return {
    async run() {
      try {
        await Promise.all(workers.map((worker) => worker.run()));
      } finally {
        unwatchPools();
        await remote.closeAll();
      }
    },
    shutdown() {
      for (const worker of workers) worker.shutdown();
    },
  };
}

/** Listings one worker process runs at once, whatever the number of sources. */
const MAX_PARALLEL_POLLS = 20;

/** The SDK refuses more concurrent workflow tasks than cached workflows (unless the cache is off). */
function maxWorkflowTasks(config: AppConfig): number {
  const { maxConcurrentWorkflowTasks, maxCachedWorkflows } = config.worker;
  return maxCachedWorkflows === 0
    ? maxConcurrentWorkflowTasks
    : Math.min(maxConcurrentWorkflowTasks, maxCachedWorkflows);
}

/** Bundles src/workflows without the webpack report in the logs (a prebuilt bundle skips this). */
async function quietBundle(): Promise<{ code: string }> {
  return { code: await bundleWorkflows([]) };
}
