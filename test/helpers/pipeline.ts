// The whole product on real servers for one test file: Temporal dev server, Redis, ftp-srv (or pure-ftpd), an OpenSSH
// server for SFTP sources, the config, and workers (in this process, or as child processes that a test may SIGKILL).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import Redis from 'ioredis';
import { parseConfig, type AppConfig } from '../../src/config';
import { pollInputOf } from '../../src/shared/patch-level';
import { closeRedis, connectRedis } from '../../src/connections/redis';
import { log, LOG_LEVEL_ENV } from '../../src/log';
import { Ledger, type LedgerRecord, type Status } from '../../src/ledger';
import type { ManagedChild } from '../../src/stack/child';
import { startEmbeddedFtpServer, type EmbeddedFtpServer } from '../../src/stack/ftp-server';
import { startRedisServer, type RedisServer } from '../../src/stack/redis';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/stack/temporal';
import { spawnWorkerProcess, writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } from '../../src/stack/worker-process';
import { createIngestWorker, type IngestWorker } from '../../src/worker/create-worker';
import { pollWorkflow } from '../../src/workflows';
import type { PollSummary } from '../../src/shared/types';
import { fileWorkflowResult } from './file-result';
import { publishedFile } from './published';
import { testPureFtpd, type PureFtpdServer } from './pure-ftpd';
import { ownedTempDir } from './servers';
import { testSshd, type SshdServer } from './sshd';

export const PASSWORD_ENV = 'FTP_INGEST_TEST_PASSWORD';
/** Set to keep a pipeline's data folder (worker logs, Redis and Temporal data) after its test file. */
export const KEEP_TEST_DATA_ENV = 'FTP_INGEST_KEEP_TEST_DATA';
/** The FTP password of the tests: the secrets scenario looks for it in histories and logs. */
export const PASSWORD = 'test-secret-7d1f0c';
/** Where workers find the SFTP test user's password (the sshd helper makes a new one per run). */
export const SFTP_PASSWORD_ENV = 'FTP_INGEST_TEST_SFTP_PASSWORD';

/**
 * Settings of a test source; `remoteDir` defaults to `/<id>`. A source with `protocol: 'sftp'` is served by the
 * pipeline's sshd (its login, password and pinned host key filled in), with `remoteDir` `/data/<id>` by default.
 */
export type TestSource = Record<string, unknown> & { id: string };

export interface PipelineOptions {
  sources: TestSource[];
  /** Slows FTP downloads (bytes per second), to interrupt them. */
  throttleBytesPerSecond?: number;
  clusterId?: string;
  /** Passive-mode address the FTP server announces (for a proxy on another loopback address). */
  ftpPasvHost?: string;
  /** Where workers connect for FTP (default: the server itself), e.g. a proxy in front of it. */
  ftpVia?: (ftp: EmbeddedFtpServer) => Promise<{ host: string; port: number }>;
  /**
   * The FTP server: the in-process ftp-srv (default), or a real pure-ftpd (see helpers/pure-ftpd: needs root).
   * With pure-ftpd, `ftp.served`/`pasvPorts`/throttling are not available and `password` is the server's own.
   */
  ftpServer?: 'ftp-srv' | 'pure-ftpd';
  /** Starts the dev server with its Web UI (on a free port): `pipeline.temporal.uiUrl`. */
  webUi?: boolean;
  /**
   * An external Redis for the ledger (any `redis.url` form: redis+sentinel://, redis+cluster://…), started and
   * stopped by the test; no redis-server of the pipeline's own is started and `restartRedis` is not available.
   * Resolves to the URL once the external servers have started.
   */
  redisUrl?: () => Promise<string>;
  /** Plugin modules for the config's `plugins` (absolute paths, or packages resolvable from the working directory). */
  plugins?: string[];
  /** false: each worker host has its own workDir (the steps after download run on the host's task queue). */
  sharedWorkDir?: boolean;
  /** Where workers connect for SFTP (default: sshd itself), e.g. a proxy that paces or cuts connections. */
  sftpVia?: (sshd: SshdServer) => Promise<{ host: string; port: number }>;
}

export interface Pipeline {
  temporal: TemporalDevServer;
  redisServer: RedisServer;
  ftp: EmbeddedFtpServer;
  client: Client;
  redis: Redis;
  ledger: Ledger;
  config: AppConfig;
  configFile: string;
  password: string;
  /** The pure-ftpd server when `ftpServer: 'pure-ftpd'`. */
  pureFtpd?: PureFtpdServer;
  /** Debian's OpenSSH server (helpers/sshd: needs root) when a source has `protocol: 'sftp'`. */
  sshd?: SshdServer;
  /** Absolute path of a remote file of a source on its server (FTP root, or the sshd chroot). */
  remote(sourceId: string, name: string): string;
  putRemote(sourceId: string, name: string, content: string | Buffer): string;
  /** The published file of a remote path (its newest version); with name '', the source's processed folder. */
  processed(sourceId: string, name: string): string;
  /** A worker in this process; stopped at the end of the file if the test does not stop it. */
  startWorker(): Promise<IngestWorker>;
  /** `ftp-ingest worker` as a child process (may be SIGKILLed); resolves once it is spawned. */
  spawnWorker(name: string, env?: NodeJS.ProcessEnv): Promise<ManagedChild>;
  poll(sourceId: string): Promise<PollSummary>;
  waitForStatus(sourceId: string, path: string, statuses: Status[], timeoutMs?: number): Promise<LedgerRecord>;
  /** Stops redis-server, waits `downMs`, starts it again on the same port and data (append-only file). */
  restartRedis(downMs?: number): Promise<void>;
  /** Stops the Temporal dev server, waits `downMs`, starts it again on the same port and database file. */
  restartTemporal(downMs?: number): Promise<void>;
  /** Waits for the workflow of the record's current attempt to close, and returns its result. */
  fileResult(record: LedgerRecord): Promise<unknown>;
  dataDir: string;
}

let runtimeInstalled = false;

/** Call at the top level of a test file. Every server is stopped after the file's tests, pass or fail. */
export function usePipeline(options: PipelineOptions): Pipeline {
  // Removed last, once every server and worker is stopped.
  const { dir: dataDir, remove: removeDataDir } = ownedTempDir('ftp-ingest-pipeline-');
  const pipeline = { dataDir, password: PASSWORD } as Pipeline;
  const stops: (() => Promise<void>)[] = [];
  let workerConnection: NativeConnection | undefined;
  // Started at load time: its teardown (registered by testPureFtpd) then belongs to the file.
  const pureFtpd = options.ftpServer === 'pure-ftpd' ? testPureFtpd() : undefined;
  pureFtpd?.catch(() => undefined); // reported by `before` when it awaits it
  const sshd = options.sources.some(isSftp) ? testSshd() : undefined;
  sshd?.catch(() => undefined);

  before(async () => {
    if (!runtimeInstalled) {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
      runtimeInstalled = true;
    }
    // In-process workers log to this process: keep the test report readable (worker processes log to files).
    if (process.env[LOG_LEVEL_ENV] === undefined) log.level = 'warn';
    const [temporal, redisServer, ftp] = await allStarted([
      startTemporalDevServer({ dataDir: path.join(dataDir, 'temporal'), headless: !options.webUi }),
      options.redisUrl ? options.redisUrl().then(externalRedis) : startRedisServer(path.join(dataDir, 'redis')),
      pureFtpd
        ? pureFtpd.then(asEmbedded)
        : startEmbeddedFtpServer({
            root: path.join(dataDir, 'ftp-root'),
            password: PASSWORD,
            throttleBytesPerSecond: options.throttleBytesPerSecond,
            pasvHost: options.ftpPasvHost,
          }),
    ]);
    if (pureFtpd) Object.assign(pipeline, { pureFtpd: await pureFtpd, password: (await pureFtpd).password });
    if (sshd) pipeline.sshd = await sshd;
    // Through `pipeline`: restartRedis/restartTemporal replace the servers, and the replacements must stop too.
    stops.push(
      () => pipeline.temporal.stop(),
      () => pipeline.redisServer.stop(),
      () => ftp.stop(),
    );
    const via = options.ftpVia ? await options.ftpVia(ftp) : ftp;
    const sftpVia = pipeline.sshd && options.sftpVia ? await options.sftpVia(pipeline.sshd) : pipeline.sshd;
    const sftp = pipeline.sshd && sftpVia ? { ...sftpVia, ...sftpLogin(pipeline.sshd) } : undefined;
    const input = configInput(
      options,
      dataDir,
      temporal,
      redisServer,
      {
        host: via.host,
        port: via.port,
        user: ftp.user,
      },
      sftp,
    );
    const configFile = path.join(dataDir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(input, null, 2));
    const connection = await Connection.connect({ address: temporal.address });
    const config = parseConfig(input);
    // An external Redis gets the product's own client for its topology (a Cluster for redis+cluster://).
    const redis = options.redisUrl ? connectRedis(config, {}) : new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined); // Redis restarts are part of some tests; commands report the error
    stops.push(
      () => closeRedis(redis),
      () => connection.close(),
    );
    Object.assign(pipeline, {
      temporal,
      redisServer,
      ftp,
      client: new Client({ connection }),
      redis,
      ledger: new Ledger(redis),
      config,
      configFile,
    });
    for (const source of options.sources) {
      const dir = pipeline.remote(source.id, '');
      if (isSftp(source)) {
        pipeline.sshd!.mkdir(path.relative(pipeline.sshd!.dataDir, dir));
        continue;
      }
      fs.mkdirSync(dir, { recursive: true });
      if (pipeline.pureFtpd) chownLike(dir, pipeline.pureFtpd.root);
    }
  });

  after(async () => {
    // Workers and clients first, servers last.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    // The server is gone by now: a close that fails must not fail the file after its tests passed.
    await workerConnection?.close().catch(() => undefined);
    // FTP_INGEST_KEEP_TEST_DATA=1 keeps worker logs, the ledger's data and Temporal's database for a post-mortem.
    if (process.env[KEEP_TEST_DATA_ENV]) process.stderr.write(`# test data kept in ${dataDir}\n`);
    else removeDataDir();
  });

  pipeline.remote = (sourceId, name) => {
    const root = isSftp(sourceOf(options, sourceId)) ? sshdChroot(pipeline.sshd!) : pipeline.ftp.root;
    return path.join(root, remoteDirOf(options, sourceId), name);
  };
  pipeline.putRemote = (sourceId, name, content) => {
    const file = pipeline.remote(sourceId, name);
    if (isSftp(sourceOf(options, sourceId))) {
      return pipeline.sshd!.put(path.relative(pipeline.sshd!.dataDir, file), content);
    }
    if (pipeline.pureFtpd) return pipeline.pureFtpd.put(path.relative(pipeline.pureFtpd.root, file), content);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };
  pipeline.processed = (sourceId, name) => {
    const sourceDir = path.join(pipeline.config.processedDir, sourceId);
    return name === '' ? sourceDir : publishedFile(sourceDir, name);
  };

  const secretsEnv = (): NodeJS.ProcessEnv => ({
    [PASSWORD_ENV]: pipeline.password,
    ...(pipeline.sshd ? { [SFTP_PASSWORD_ENV]: pipeline.sshd.password } : {}),
  });

  // Bundled once per test file: every worker of the file loads it, which keeps worker start fast.
  let bundle: Promise<string> | undefined;
  const workflowBundle = (): Promise<string> =>
    (bundle ??= writeWorkflowBundle(path.join(dataDir, 'workflow-bundle.js'), pipeline.config.plugins));

  pipeline.startWorker = async () => {
    workerConnection ??= await NativeConnection.connect({ address: pipeline.temporal.address });
    const worker = await createIngestWorker({
      config: pipeline.config,
      connection: workerConnection,
      redis: pipeline.redis,
      env: secretsEnv(),
      workflowBundle: { codePath: await workflowBundle() },
    });
    // Handled at once: a run that fails while the file's teardown closes connections under it must not surface
    // as an unhandled rejection after the tests passed (it did, under load).
    const running = worker.run().catch((err: unknown) => err);
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    return worker;
  };

  pipeline.spawnWorker = async (name, env = {}) => {
    const child = spawnWorkerProcess({
      configFile: pipeline.configFile,
      env: { ...secretsEnv(), [WORKFLOW_BUNDLE_ENV]: await workflowBundle(), ...env },
      logFile: path.join(dataDir, `${name}.log`),
    });
    stops.push(() => child.stop(2_000));
    return child;
  };

  pipeline.poll = (sourceId) =>
    pipeline.client.workflow.execute(pollWorkflow, {
      taskQueue: pipeline.config.temporal.taskQueue,
      workflowId: `test-poll/${sourceId}/${Date.now()}-${Math.random().toString(36).slice(2)}`,
      args: [pollInputOf(sourceId)],
    });

  pipeline.restartRedis = async (downMs = 0) => {
    if (options.redisUrl) throw new Error('restartRedis: the pipeline runs on an external Redis');
    const { port } = pipeline.redisServer;
    await pipeline.redisServer.stop();
    await sleep(downMs);
    pipeline.redisServer = await startRedisServer(path.join(dataDir, 'redis'), port);
  };

  pipeline.restartTemporal = async (downMs = 0) => {
    const port = Number(pipeline.temporal.address.split(':')[1]);
    await pipeline.temporal.stop();
    await sleep(downMs);
    pipeline.temporal = await startTemporalDevServer({ dataDir: path.join(dataDir, 'temporal'), port });
  };

  pipeline.waitForStatus = async (sourceId, filePath, statuses, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await pipeline.ledger.get(sourceId, filePath);
      if (record && statuses.includes(record.status)) return record;
      if (Date.now() > deadline) {
        throw new Error(
          `${sourceId}:${filePath} is ${record?.status ?? 'absent'} after ${timeoutMs} ms, wanted ${statuses.join('|')}`,
        );
      }
      await sleep(100);
    }
  };

  pipeline.fileResult = async (record) => {
    if (!record.workflowId) throw new Error(`${record.path} has no workflow id`);
    return fileWorkflowResult(pipeline.client.workflow.getHandle(record.workflowId));
  };

  return pipeline;
}

/** A Redis the test runs itself, seen through the pipeline's `redisServer` (stopping it is the test's job). */
function externalRedis(url: string): RedisServer {
  return { url, port: 0, stop: () => Promise.resolve() };
}

/**
 * Like Promise.all for servers being started: when one fails, the others that did start are stopped (they are
 * not yet in the file's teardown), then the first failure is thrown.
 */
export async function allStarted<T extends { stop(): Promise<void> }[]>(starting: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(starting as Promise<T[number]>[]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') await s.value.stop().catch(() => undefined);
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T[number]>).value) as T;
}

/** pure-ftpd seen through the pipeline's `ftp` (its own `after` hook stops it). */
function asEmbedded(server: PureFtpdServer): EmbeddedFtpServer {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    root: server.root,
    served: { perPath: new Map(), total: 0, listings: new Map() },
    pasvPorts: [0, 0],
    stop: () => Promise.resolve(),
  };
}

function chownLike(target: string, like: string): void {
  const { uid, gid } = fs.statSync(like);
  fs.chownSync(target, uid, gid);
}

function sourceOf(options: PipelineOptions, sourceId: string): TestSource {
  const source = options.sources.find((s) => s.id === sourceId);
  if (!source) throw new Error(`no test source ${sourceId}`);
  return source;
}

function isSftp(source: TestSource): boolean {
  return source.protocol === 'sftp';
}

function remoteDirOf(options: PipelineOptions, sourceId: string): string {
  const source = sourceOf(options, sourceId);
  if (typeof source.remoteDir === 'string') return source.remoteDir;
  return isSftp(source) ? `/data/${sourceId}` : `/${sourceId}`;
}

/** The folder the SFTP user sees as `/` (its `/data` is `sshd.dataDir`). */
function sshdChroot(sshd: SshdServer): string {
  return path.dirname(sshd.dataDir);
}

/** How a worker logs in to the test sshd: its user, and its host key pinned by fingerprint. */
function sftpLogin(sshd: SshdServer): { user: string; hostKeyFingerprint: string } {
  return { user: sshd.user, hostKeyFingerprint: sshd.hostKeyFingerprint };
}

/** The config file's content for a test cluster (exported for tests that run several clusters). */
export function configInput(
  options: PipelineOptions,
  dataDir: string,
  temporal: TemporalDevServer,
  redis: RedisServer,
  ftp: { host: string; port: number; user: string },
  sftp?: { host: string; port: number; user: string; hostKeyFingerprint: string },
): Record<string, unknown> {
  return {
    clusterId: options.clusterId ?? 'test',
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.sharedWorkDir === undefined ? {} : { sharedWorkDir: options.sharedWorkDir }),
    temporal: { address: temporal.address, namespace: temporal.namespace, taskQueue: 'ftp-ingest-test' },
    redis: { url: redis.url },
    workDir: path.join(dataDir, 'work'),
    processedDir: path.join(dataDir, 'processed'),
    // No HTTP endpoints unless a test asks (FTP_INGEST_METRICS_PORT): many workers share this host.
    worker: { maxConcurrentActivities: 8, metricsPort: 0 },
    sources: options.sources.map((source) => ({
      ...(isSftp(source)
        ? {
            host: sftp?.host,
            port: sftp?.port,
            user: sftp?.user,
            hostKeyFingerprint: sftp?.hostKeyFingerprint,
            passwordEnv: SFTP_PASSWORD_ENV,
            remoteDir: `/data/${source.id}`,
          }
        : { host: ftp.host, port: ftp.port, user: ftp.user, passwordEnv: PASSWORD_ENV, remoteDir: `/${source.id}` }),
      pollInterval: '1s',
      // Short timeouts so that a killed worker's activity moves on quickly; the lease rule still holds.
      heartbeatTimeout: '1s',
      activityMaxInterval: '1s',
      retryTimeout: '8s',
      requireStableSize: false,
      processor: { name: 'checksum' },
      ...source,
    })),
  };
}
