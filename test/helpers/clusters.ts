// Several clusters on real servers for one test file: each cluster is its own Temporal dev server (its own
// database, restartable), its own config file with its clusterId, workDir and processedDir, its own worker
// processes and its own poll schedule; all of them share one Redis ledger and one FTP server (DESIGN.md §1).
import fs from 'node:fs';
import path from 'node:path';
import { fileWorkflowResult } from './file-result';
import { after, before } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import Redis from 'ioredis';
import { closeRedis } from '../../src/connections/redis';
import { parseConfig, type AppConfig } from '../../src/config';
import { Ledger, ledgerRows, type LedgerRecord } from '../../src/ledger';
import type { ManagedChild } from '../../src/stack/child';
import { startEmbeddedFtpServer, type EmbeddedFtpServer } from '../../src/stack/ftp-server';
import { startRedisServer, type RedisServer } from '../../src/stack/redis';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/stack/temporal';
import { spawnWorkerProcess, writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } from '../../src/stack/worker-process';
import { deletePollSchedule, upsertPollSchedule } from '../../src/starter/schedules';
import type { FileWorkflowResult } from '../../src/shared/types';
import { allStarted, configInput, PASSWORD, PASSWORD_ENV, type TestSource } from './pipeline';
import { ownedTempDir } from './servers';

export interface ClustersOptions {
  /** The clusterIds, one cluster each. */
  clusters: string[];
  sources: TestSource[];
  /** Worker processes per cluster. */
  workersPerCluster?: number;
  /** Settings of each cluster's config file on top of the test defaults (e.g. `worker`). */
  configOverrides?: Record<string, unknown>;
}

/** One cluster: a Temporal deployment with its workers and schedules, sharing the ledger with the others. */
export interface TestCluster {
  readonly clusterId: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly config: AppConfig;
  /** Undefined while the cluster is stopped. */
  readonly temporal: TemporalDevServer | undefined;
  /** Client of this cluster's Temporal (throws while the cluster is stopped). */
  readonly client: Client;
  readonly running: boolean;
  readonly workers: readonly ManagedChild[];
  /** processedDir/<sourceId> of this cluster. */
  processedDir(sourceId: string): string;
  /** workDir/<sourceId> of this cluster. */
  workDir(sourceId: string): string;
  /** Starts (or starts again, on the same database and port) its Temporal server, then its workers. */
  start(): Promise<void>;
  /** Creates (or updates) the poll schedule of every source. */
  schedule(): Promise<void>;
  unschedule(): Promise<void>;
  /** SIGSTOP (true) or SIGCONT (false) to every worker process: a frozen worker does nothing at all. */
  freezeWorkers(frozen: boolean): void;
  /** Every worker process SIGKILLed (the Temporal server stays up). */
  killWorkers(): Promise<number>;
  /** The whole cluster gone at once: every worker SIGKILLed, then its Temporal server stopped (db kept). */
  stop(): Promise<void>;
  /** The result of a file workflow of this cluster; undefined if this cluster never started it. */
  fileResult(workflowId: string): Promise<FileWorkflowResult | undefined>;
  /** Number of this cluster's file workflows still running (visibility query). */
  runningFileWorkflows(): Promise<number>;
  /** Each worker process of the current start: alive or its exit, and the tail of its log (for failures). */
  workerReport(): string;
  /** Ids of this cluster's running workflows of a type (visibility query). */
  runningWorkflowIds(workflowType: string): Promise<string[]>;
}

export interface Clusters {
  redisServer: RedisServer;
  ftp: EmbeddedFtpServer;
  redis: Redis;
  ledger: Ledger;
  clusters: TestCluster[];
  cluster(clusterId: string): TestCluster;
  putRemote(sourceId: string, name: string, content: string | Buffer): string;
  /** Every ledger record of a source (all pages). */
  records(sourceId: string): Promise<LedgerRecord[]>;
  dataDir: string;
}

/** Call at the top level of a test file. Every server and worker is stopped after the file's tests. */
export function useClusters(options: ClustersOptions): Clusters {
  // Removed last, once every server and worker is stopped.
  const { dir: dataDir, remove: removeDataDir } = ownedTempDir('ftp-ingest-clusters-');
  const shared = { dataDir } as Clusters;
  const stops: (() => Promise<void>)[] = [];
  let bundle: Promise<string> | undefined;
  const workflowBundle = (): Promise<string> =>
    (bundle ??= writeWorkflowBundle(path.join(dataDir, 'workflow-bundle.js')));

  before(async () => {
    const [redisServer, ftp] = await allStarted([
      startRedisServer(path.join(dataDir, 'redis')),
      startEmbeddedFtpServer({ root: path.join(dataDir, 'ftp-root'), password: PASSWORD }),
    ]);
    stops.push(
      () => redisServer.stop(),
      () => ftp.stop(),
    );
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    stops.push(() => closeRedis(redis));
    Object.assign(shared, { redisServer, ftp, redis, ledger: new Ledger(redis) });
    for (const source of options.sources) fs.mkdirSync(remoteOf(source, ''), { recursive: true });
    const clusters = options.clusters.map((clusterId) =>
      makeCluster(clusterId, path.join(dataDir, clusterId), options, redisServer, ftp, workflowBundle),
    );
    // Stopped last-started first, workers before their server; each cluster's stop is idempotent.
    for (const cluster of clusters) stops.push(() => cluster.stop());
    shared.clusters = clusters;
    await Promise.all([workflowBundle(), ...clusters.map((c) => c.start())]);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeDataDir();
  });

  const remoteOf = (source: TestSource, name: string): string =>
    path.join(shared.ftp.root, typeof source.remoteDir === 'string' ? source.remoteDir : `/${source.id}`, name);

  shared.cluster = (clusterId) => {
    const found = shared.clusters.find((c) => c.clusterId === clusterId);
    if (!found) throw new Error(`no cluster ${clusterId}`);
    return found;
  };
  shared.putRemote = (sourceId, name, content) => {
    const source = options.sources.find((s) => s.id === sourceId);
    if (!source) throw new Error(`no test source ${sourceId}`);
    const file = remoteOf(source, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };
  shared.records = (sourceId) => ledgerRows(shared.ledger, sourceId, undefined, Infinity);
  return shared;
}

/**
 * Starts (or restarts, same database and frontend port) a dev server, retrying when a port is taken: its other
 * ports are picked free just before the start, and on a busy machine another process can bind one first.
 */
async function startTemporal(dataDir: string, port: number | undefined): Promise<TemporalDevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalDevServer({ dataDir, port });
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('address already in use')) throw err;
    }
  }
}

function makeCluster(
  clusterId: string,
  dataDir: string,
  options: ClustersOptions,
  redisServer: RedisServer,
  ftp: EmbeddedFtpServer,
  workflowBundle: () => Promise<string>,
): TestCluster {
  const temporalDir = path.join(dataDir, 'temporal');
  let temporal: TemporalDevServer | undefined;
  let port: number | undefined;
  let connection: Connection | undefined;
  let client: Client | undefined;
  let workers: ManagedChild[] = [];
  let workerLogs: string[] = [];
  let config: AppConfig | undefined;
  let configFile: string | undefined;
  let starts = 0;

  const cluster: TestCluster = {
    clusterId,
    dataDir,
    get configFile() {
      if (!configFile) throw new Error(`cluster ${clusterId} was never started`);
      return configFile;
    },
    get config() {
      if (!config) throw new Error(`cluster ${clusterId} was never started`);
      return config;
    },
    get temporal() {
      return temporal;
    },
    get client() {
      if (!client) throw new Error(`cluster ${clusterId} is stopped`);
      return client;
    },
    get running() {
      return temporal !== undefined;
    },
    get workers() {
      return workers;
    },
    processedDir: (sourceId) => path.join(cluster.config.processedDir, sourceId),
    workDir: (sourceId) => path.join(cluster.config.workDir, sourceId),

    async start() {
      if (temporal) throw new Error(`cluster ${clusterId} is running`);
      temporal = await startTemporal(temporalDir, port);
      port = Number(temporal.address.split(':')[1]);
      if (!configFile) {
        const input = configInput({ sources: options.sources, clusterId }, dataDir, temporal, redisServer, ftp);
        Object.assign(input, options.configOverrides ?? {});
        configFile = path.join(dataDir, 'config.json');
        fs.writeFileSync(configFile, JSON.stringify(input, null, 2));
        config = parseConfig(input);
      }
      connection = await Connection.connect({ address: temporal.address });
      client = new Client({ connection, namespace: temporal.namespace });
      const codePath = await workflowBundle();
      starts++;
      workerLogs = Array.from({ length: options.workersPerCluster ?? 2 }, (_, i) =>
        path.join(dataDir, `worker-${i + 1}.start-${starts}.log`),
      );
      workers = workerLogs.map((logFile) =>
        spawnWorkerProcess({
          configFile: cluster.configFile,
          env: { [PASSWORD_ENV]: PASSWORD, [WORKFLOW_BUNDLE_ENV]: codePath },
          logFile,
        }),
      );
    },

    async schedule() {
      for (const source of cluster.config.sources) await upsertPollSchedule(cluster.client, cluster.config, source);
    },

    async unschedule() {
      for (const source of cluster.config.sources) await deletePollSchedule(cluster.client, source.id);
    },

    freezeWorkers(frozen) {
      for (const worker of workers) worker.process.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },

    async killWorkers() {
      const killed = workers.length;
      for (const worker of workers) worker.process.kill('SIGKILL');
      await Promise.all(workers.map((worker) => worker.stop(1_000)));
      workers = [];
      return killed;
    },

    async stop() {
      await cluster.killWorkers();
      await connection?.close().catch(() => undefined);
      connection = undefined;
      client = undefined;
      await temporal?.stop();
      temporal = undefined;
    },

    async fileResult(workflowId) {
      try {
        return await fileWorkflowResult(cluster.client.workflow.getHandle(workflowId));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },

    async runningFileWorkflows() {
      const { count } = await cluster.client.workflow.count(
        `WorkflowType = "fileWorkflow" AND ExecutionStatus = "Running"`,
      );
      return count;
    },

    workerReport() {
      return workers
        .map((worker, i) => {
          const { exitCode, signalCode } = worker.process;
          const state = exitCode === null && signalCode === null ? 'alive' : `exited ${exitCode ?? signalCode}`;
          const log = workerLogs[i] && fs.existsSync(workerLogs[i]) ? fs.readFileSync(workerLogs[i], 'utf8') : '';
          return `${clusterId} worker ${i + 1}: ${state}\n${log.slice(-1_500)}`;
        })
        .join('\n');
    },

    async runningWorkflowIds(workflowType) {
      const ids: string[] = [];
      const query = `WorkflowType = "${workflowType}" AND ExecutionStatus = "Running"`;
      for await (const execution of cluster.client.workflow.list({ query })) ids.push(execution.workflowId);
      return ids;
    },
  };
  return cluster;
}
