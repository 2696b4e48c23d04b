// `npm run bench [-- --quick]`: the product beside its anchors, on one embedded stack (Temporal dev server, Redis,
// in-process FTP server, all on loopback). Not a test: it prints figures and exits 0 unless something breaks.
//
//   pipeline   N small files, one product worker process (default worker settings) beside the bare-Temporal
//              ceiling of the same shape (bench/bare: a poll activity, a child per file, no-op steps, the same
//              stage upserts), runs A/B interleaved, medians; events per file workflow, and the CPU time per
//              file of the worker, the dev server and the whole stack (these hardly depend on the load). Two shapes,
//              each beside its own bare mirror: the default steps, and the small-file fast path
//              (smallFileMaxBytes: one local activity for download, process and publish, then the local commit).
//   claim      Ledger.claimBatch beside a re-implementation of the seed's per-file CAS loop (WATCH, HGETALL,
//              MULTI/HSET/EXEC per name) on many listed names, in batches of 1,000: a first poll (all new) and a
//              steady poll (all already claimed).
//   download   one large file: the product's download path beside raw basic-ftp downloadTo, each in its own
//              process (MiB/s and peak RSS of each).
//   backlog    a backlog drained with the default source config (maxAcceptPerPoll 100, pollInterval 30 s,
//              maxInFlight 200) through the real poll Schedule.
//   memory     peak and steady RSS of the product worker process.
//
// The last line: `bench: files_per_s=… ceiling_ratio=… claim_first_x=… claim_steady_x=… download_ratio=…
// backlog_files_per_s=… worker_rss_mib=… fast_files_per_s=… fast_ceiling_ratio=…` (files_per_s and
// ceiling_ratio: the default steps; fast_*: the small-file fast path beside its own bare shape). Sizes: BENCH_FILES, BENCH_ROUNDS, BENCH_CLAIM_NAMES,
// BENCH_DOWNLOAD_MIB, BENCH_BACKLOG_FILES override the mode's; BENCH_WORKER (JSON) sets the product worker's
// `worker` config, e.g. '{"maxCachedWorkflows":100}', BENCH_BACKLOG_SOURCE (JSON) the backlog source's settings,
// e.g. '{"maxInFlight":1000}'; BENCH_WORKER_NODE_OPTIONS the Node flags of both worker
// processes (instead of the product's WORKER_NODE_FLAGS); BENCH_SKIP=claim,download,backlog skips parts;
// BENCH_ONLY=claim runs the claim part alone (bench/claim.ts, on a redis-server of its own), BENCH_ONLY=download the
// download part alone; BENCH_PROGRESS=1 prints
// the backlog's files in flight and statuses every 2 s, and at its end what each of its polls did
// (bench/poll-report.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import Redis from 'ioredis';
import { parseConfig } from '../src/config';
import { Ledger } from '../src/ledger';
import { spawnManaged, type ManagedChild } from '../src/stack/child';
import { startEmbeddedStack } from '../src/stack/embedded';
import { startEmbeddedFtpServer, type EmbeddedFtpServer } from '../src/stack/ftp-server';
import { startRedisServer } from '../src/stack/redis';
import { pollInputOf } from '../src/shared/patch-level';
import { projectRoot } from '../src/stack/tools';
import { spawnWorkerProcess, WORKFLOW_BUNDLE_ENV, writeWorkflowBundle } from '../src/stack/worker-process';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../src/worker/memory';
import { deletePollSchedule, triggerPollSchedule, upsertPollSchedule } from '../src/starter/schedules';
import type { pollWorkflow } from '../src/workflows';
import type { barePollWorkflow } from './bare/workflows';
import { benchClaim } from './claim';
import { printPolls } from './poll-report';
import { load, median, report, round } from './figures';

const quick = process.argv.includes('--quick');
const size = (env: string, quickValue: number, fullValue: number): number =>
  Number(process.env[env] ?? (quick ? quickValue : fullValue));
const FILES = size('BENCH_FILES', 150, 1_000);
/** Files of the uncounted warm-up round. */
const WARMUP_FILES = Math.min(FILES, 50);
const filesOfRound = (r: number): number => (r === 0 ? WARMUP_FILES : FILES);
const ROUNDS = size('BENCH_ROUNDS', 2, 3);
const CLAIM_NAMES = size('BENCH_CLAIM_NAMES', 20_000, 100_000);
const DOWNLOAD_MIB = size('BENCH_DOWNLOAD_MIB', 128, 1_024);
const BACKLOG_FILES = size('BENCH_BACKLOG_FILES', 400, 10_000);
const WORKER = JSON.parse(process.env.BENCH_WORKER ?? '{}') as Record<string, unknown>;
const BACKLOG_SOURCE = JSON.parse(process.env.BENCH_BACKLOG_SOURCE ?? '{}') as Record<string, unknown>;
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const SMALL_FILE_BYTES = 1_024;
const PASSWORD = 'bench';
const PASSWORD_ENV = 'FTP_INGEST_BENCH_PASSWORD';
const TASK_QUEUE = 'bench';
const BARE_QUEUE = 'bench-bare';

/** Peak and recent RSS of a process, from /proc (Linux). */
function rssOf(pid: number | undefined): { rssMiB: number; peakMiB: number } {
  if (pid === undefined) return { rssMiB: 0, peakMiB: 0 };
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return { rssMiB: 0, peakMiB: 0 };
  }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The process whose command line holds all `markers` (the dev server: its database file), from /proc. */
function pidWith(...markers: string[]): number | undefined {
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (markers.every((marker) => cmdline.includes(marker))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU seconds so far: a worker's, the dev server's, and the whole stack's (with Redis and this process). */
interface CpuSample {
  worker: number;
  server: number;
  stack: number;
}

interface StackPids {
  server: number | undefined;
  redis: number | undefined;
}

function sampleCpu(workerPid: number | undefined, pids: StackPids): CpuSample {
  const worker = cpuSecondsOf(workerPid);
  const server = cpuSecondsOf(pids.server);
  // This process runs the FTP server (and the bench's own waiting).
  const { user, system } = process.cpuUsage();
  return { worker, server, stack: worker + server + cpuSecondsOf(pids.redis) + (user + system) / 1e6 };
}

// ---------------------------------------------------------------------------------------------------------------
// download: the product's download path beside raw basic-ftp, each in its own process

// Asynchronous: the FTP server runs in this process and must keep serving.
async function runDownloadChild(
  mode: 'raw' | 'product',
  args: object,
): Promise<{ seconds: number; bytes: number; maxRssMiB: number }> {
  const { stdout: out } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'download-child.ts'), mode, JSON.stringify(args)],
    { cwd: projectRoot, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { seconds: number; bytes: number; maxRssMiB: number };
}

async function benchDownload(ftp: EmbeddedFtpServer, dataDir: string): Promise<number> {
  const bytes = DOWNLOAD_MIB * 2 ** 20;
  const remote = path.join(ftp.root, 'download', 'big.bin');
  fs.mkdirSync(path.dirname(remote), { recursive: true });
  const chunk = Buffer.alloc(2 ** 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2_654_435_761) >>> 24;
  const fd = fs.openSync(remote, 'w');
  for (let i = 0; i < DOWNLOAD_MIB; i++) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  const args = {
    host: ftp.host,
    port: ftp.port,
    user: ftp.user,
    password: PASSWORD,
    remotePath: '/download/big.bin',
    localPath: path.join(dataDir, 'downloaded.bin'),
    size: bytes,
  };
  const raw = { mibs: [] as number[], rss: [] as number[] };
  const product = { mibs: [] as number[], rss: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? (['raw', 'product'] as const) : (['product', 'raw'] as const)) {
      const result = await runDownloadChild(mode, args);
      if (result.bytes !== bytes) throw new Error(`${mode} download: ${result.bytes} bytes, expected ${bytes}`);
      const into = mode === 'raw' ? raw : product;
      into.mibs.push(DOWNLOAD_MIB / result.seconds);
      into.rss.push(result.maxRssMiB);
    }
  }
  fs.rmSync(remote, { force: true });
  report(`download ${DOWNLOAD_MIB} MiB: product download path`, median(product.mibs), 'MiB/s', {
    name: 'raw basic-ftp downloadTo',
    value: median(raw.mibs),
  });
  report(`download ${DOWNLOAD_MIB} MiB: peak RSS of the product's download process`, median(product.rss), 'MiB', {
    name: 'raw basic-ftp downloadTo process',
    value: median(raw.rss),
  });
  return median(product.mibs) / median(raw.mibs);
}

// ---------------------------------------------------------------------------------------------------------------
// pipeline and backlog: a product worker process and a bare worker process on the same dev server

interface Workers {
  product: ManagedChild;
  bare: ManagedChild;
  samples: number[];
  stop(): Promise<void>;
}

function writeSmallFiles(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const content = Buffer.alloc(SMALL_FILE_BYTES, 'x,y\n');
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `f-${i}.csv`), content);
}

async function waitFor(
  what: string,
  done: () => Promise<boolean>,
  intervalMs: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Every file of the source DONE. Reads the in-flight counter first: counting every record is the slow part. */
async function allDone(ledger: Ledger, clusterId: string, sourceId: string, files: number): Promise<boolean> {
  if ((await ledger.inFlight(sourceId, clusterId)) > 0) return false;
  return (await ledger.counts(sourceId)).DONE >= files;
}

/** `BENCH_ONLY=claim`: the claim part alone, on a private redis-server (no Temporal, no FTP). */
async function claimOnly(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-bench-'));
  console.log(
    `bench claim only: ${CLAIM_NAMES} claim names x ${ROUNDS} rounds; ${os.cpus().length} cores, load ${load()}`,
  );
  const server = await startRedisServer(dataDir);
  try {
    const claim = await benchClaim(server.url, CLAIM_NAMES, ROUNDS);
    console.log(`bench: claim_first_x=${round(claim.firstX, 1)} claim_steady_x=${round(claim.steadyX, 1)}`);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `BENCH_ONLY=download`: the download part alone, on an FTP server of its own (no Temporal, no Redis). */
async function downloadOnly(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-bench-'));
  console.log(`bench download only: ${DOWNLOAD_MIB} MiB x ${ROUNDS} rounds; ${os.cpus().length} cores, load ${load()}`);
  const ftp = await startEmbeddedFtpServer({ root: path.join(dataDir, 'ftp'), password: PASSWORD });
  try {
    console.log(`bench: download_ratio=${round(await benchDownload(ftp, dataDir))}`);
  } finally {
    await ftp.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The pipeline's two shapes: the default steps, and the small-file fast path (smallFileMaxBytes). */
type Shape = 'default' | 'fast';

interface RunFigures {
  rates: number[];
  /** CPU time per file during the runs: the worker's, the dev server's, the whole stack's. */
  cpu: number[];
  serverCpu: number[];
  stackCpu: number[];
  events: number;
}

function recordCpu(into: RunFigures, before: CpuSample, after: CpuSample, files: number): void {
  into.cpu.push((after.worker - before.worker) / files);
  into.serverCpu.push((after.server - before.server) / files);
  into.stackCpu.push((after.stack - before.stack) / files);
}

interface ShapeFigures {
  product: RunFigures;
  bare: RunFigures;
}

function newShapeFigures(): ShapeFigures {
  const runFigures = (): RunFigures => ({ rates: [], cpu: [], serverCpu: [], stackCpu: [], events: 0 });
  return { product: runFigures(), bare: runFigures() };
}

/** Forgets the warm-up round's figures. */
function clearRuns({ product, bare }: ShapeFigures): void {
  for (const runs of [product, bare]) {
    runs.rates.length = 0;
    runs.cpu.length = 0;
    runs.serverCpu.length = 0;
    runs.stackCpu.length = 0;
  }
}

function reportShape(shape: Shape, { product, bare }: ShapeFigures): void {
  const label = shape === 'fast' ? 'small-file fast path' : 'default steps';
  report(
    `pipeline (${label}) ${FILES} files of ${SMALL_FILE_BYTES} B, one worker (checksum processor)`,
    median(product.rates),
    'files/s',
    {
      name: `bare Temporal, same shape (${label}), one worker`,
      value: median(bare.rates),
    },
  );
  const runs = (xs: number[]): string => xs.map((x) => round(x, 1)).join(' ');
  console.log(`pipeline (${label}) runs (files/s): product ${runs(product.rates)}; bare ${runs(bare.rates)}`);
  // CPU time per file depends far less on the machine's load than files/s does.
  report(`worker process CPU per file (${label})`, median(product.cpu) * 1000, 'ms', {
    name: 'bare worker',
    value: median(bare.cpu) * 1000,
  });
  // What each file costs Temporal itself (history writes, task dispatch, visibility), and all processes
  // together: on shared cores files/s follows the latter.
  report(`Temporal dev server CPU per file (${label})`, median(product.serverCpu) * 1000, 'ms', {
    name: 'bare same shape',
    value: median(bare.serverCpu) * 1000,
  });
  report(
    `stack CPU per file, worker + dev server + Redis + FTP server (${label})`,
    median(product.stackCpu) * 1000,
    'ms',
    {
      name: 'bare same shape',
      value: median(bare.stackCpu) * 1000,
    },
  );
  report(`events per file workflow (${label})`, product.events, 'events', {
    name: 'bare same shape',
    value: bare.events,
  });
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'claim') return claimOnly();
  if (process.env.BENCH_ONLY === 'download') return downloadOnly();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const benchStarted = performance.now();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-bench-'));
  console.log(
    `bench ${quick ? '--quick' : 'full'}: ${FILES} files x ${ROUNDS} rounds, ${CLAIM_NAMES} claim names, ` +
      `${DOWNLOAD_MIB} MiB download, ${BACKLOG_FILES}-file backlog; ${os.cpus().length} cores, load ${load()}`,
  );
  const stack = await startEmbeddedStack({ dataDir, ftpPassword: PASSWORD, headless: true });
  let workers: Workers | undefined;
  try {
    const claim = SKIP.has('claim')
      ? { firstX: NaN, steadyX: NaN }
      : await benchClaim(stack.redis.url, CLAIM_NAMES, ROUNDS);
    const downloadRatio = SKIP.has('download') ? NaN : await benchDownload(stack.ftp, dataDir);

    // The sources: one per pipeline run (a fresh ledger and folder each), and the backlog one with defaults.
    // Round 0 warms both workers up (JIT, connections, caches) and is not counted.
    const pipeSources = Array.from({ length: ROUNDS + 1 }, (_, r) => `pipe-${r}`);
    const fastSources = Array.from({ length: ROUNDS + 1 }, (_, r) => `fast-${r}`);
    [...pipeSources, ...fastSources].forEach((id) =>
      writeSmallFiles(path.join(stack.ftp.root, id), filesOfRound(Number(id.split('-')[1]))),
    );
    if (!SKIP.has('backlog')) writeSmallFiles(path.join(stack.ftp.root, 'backlog'), BACKLOG_FILES);
    const server = { host: stack.ftp.host, port: stack.ftp.port, user: stack.ftp.user, passwordEnv: PASSWORD_ENV };
    const pipelineSource = (id: string) => ({
      id,
      ...server,
      remoteDir: `/${id}`,
      requireStableSize: false,
      processor: 'checksum',
      // All of a round's files claimed at once: the poll is started once, not by a Schedule.
      maxInFlight: FILES,
    });
    const rawConfig = {
      temporal: { address: stack.temporal.address, taskQueue: TASK_QUEUE },
      redis: { url: stack.redis.url },
      workDir: path.join(dataDir, 'work'),
      processedDir: path.join(dataDir, 'processed'),
      worker: { metricsPort: 0, ...WORKER },
      sources: [
        ...pipeSources.map(pipelineSource),
        // The same with the small-file fast path on (one local activity for download, process and publish).
        ...fastSources.map((id) => ({ ...pipelineSource(id), smallFileMaxBytes: SMALL_FILE_BYTES })),
        // Defaults but the stable-size wait: it would delay the first claim by a pollInterval.
        {
          id: 'backlog',
          ...server,
          remoteDir: '/backlog',
          requireStableSize: false,
          processor: 'checksum',
          ...BACKLOG_SOURCE,
        },
      ],
    };
    const configFile = path.join(dataDir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(rawConfig));
    const config = parseConfig(rawConfig, { [PASSWORD_ENV]: PASSWORD });

    // Both workers run with the product's worker memory settings (src/worker/memory.ts) unless
    // BENCH_WORKER_NODE_OPTIONS gives other Node flags.
    const workerFlags = process.env.BENCH_WORKER_NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? WORKER_NODE_FLAGS;
    const productBundle = await writeWorkflowBundle(path.join(dataDir, 'bundle.js'));
    const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./bare/workflows'), logger: silent });
    const bareBundle = path.join(dataDir, 'bare-bundle.js');
    fs.writeFileSync(bareBundle, code);

    const product = spawnWorkerProcess({
      configFile,
      env: { [PASSWORD_ENV]: PASSWORD, [WORKFLOW_BUNDLE_ENV]: productBundle },
      logFile: path.join(dataDir, 'worker.log'),
      nodeFlags: workerFlags,
    });
    const bare = spawnManaged(
      process.execPath,
      [
        ...workerFlags,
        '--import',
        'tsx',
        path.join(__dirname, 'bare', 'worker.ts'),
        stack.temporal.address,
        stack.redis.url,
        BARE_QUEUE,
        String(config.worker.maxConcurrentActivities),
        bareBundle,
        String(config.worker.maxCachedWorkflows),
      ],
      { env: { ...WORKER_ENV, ...process.env } },
    );
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssOf(product.process.pid).rssMiB), 1_000);
    workers = {
      product,
      bare,
      samples,
      async stop() {
        clearInterval(sampler);
        await Promise.all([product.stop(10_000), bare.stop(10_000)]);
      },
    };

    const connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection });
    const redis = new Redis(stack.redis.url);
    const ledger = new Ledger(redis);
    try {
      const shapes = { default: newShapeFigures(), fast: newShapeFigures() };
      const pids: StackPids = {
        server: pidWith(stack.temporal.dbFile),
        redis: pidWith('redis-server', `:${new URL(stack.redis.url).port}`),
      };
      for (const [name, pid] of Object.entries(pids)) {
        if (pid === undefined) console.log(`bench: no process found for ${name}: the CPU figures leave it out`);
      }
      const runProduct = async (r: number, shape: Shape): Promise<void> => {
        const sourceId = (shape === 'fast' ? fastSources : pipeSources)[r]!;
        const into = shapes[shape].product;
        const started = performance.now();
        await client.workflow.start<typeof pollWorkflow>('pollWorkflow', {
          taskQueue: TASK_QUEUE,
          workflowId: `bench-poll/${sourceId}`,
          args: [pollInputOf(sourceId)],
        });
        const files = filesOfRound(r);
        const cpu = sampleCpu(product.process.pid, pids);
        await waitFor(`${sourceId} DONE`, () => allDone(ledger, config.clusterId, sourceId, files), 250, 900_000);
        into.rates.push(files / ((performance.now() - started) / 1000));
        recordCpu(into, cpu, sampleCpu(product.process.pid, pids), files);
        const workflowId = (await ledger.get(sourceId, 'f-0.csv'))?.workflowId;
        if (workflowId) {
          await client.workflow.getHandle(workflowId).result();
          into.events = (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
        }
      };
      const runBare = async (r: number, shape: Shape): Promise<void> => {
        const runTag = `bare-${shape}-${r}`;
        const into = shapes[shape].bare;
        const started = performance.now();
        await client.workflow.start<typeof barePollWorkflow>('barePollWorkflow', {
          taskQueue: BARE_QUEUE,
          workflowId: `bench-bare-poll/${runTag}`,
          args: [{ runTag, files: filesOfRound(r), perPoll: 100, fast: shape === 'fast' }],
        });
        const counted = async (): Promise<boolean> =>
          Number((await redis.get(`bare:${runTag}:done`)) ?? 0) >= filesOfRound(r);
        const cpu = sampleCpu(bare.process.pid, pids);
        await waitFor(`${runTag} done`, counted, 250, 900_000);
        into.rates.push(filesOfRound(r) / ((performance.now() - started) / 1000));
        recordCpu(into, cpu, sampleCpu(bare.process.pid, pids), filesOfRound(r));
        const handle = client.workflow.getHandle(`bare/${runTag}/${runTag}-f-0.bin`);
        await handle.result();
        into.events = (await handle.fetchHistory()).events?.length ?? 0;
      };
      for (let r = 0; r <= ROUNDS; r++) {
        // A/B interleaved per shape, the order alternating per round.
        for (const shape of ['default', 'fast'] as const) {
          if (r % 2 === 0) await runProduct(r, shape).then(() => runBare(r, shape));
          else await runBare(r, shape).then(() => runProduct(r, shape));
        }
        if (r === 0) Object.values(shapes).forEach(clearRuns);
      }
      const filesPerS = median(shapes.default.product.rates);
      const ceiling = median(shapes.default.bare.rates);
      const fastFilesPerS = median(shapes.fast.product.rates);
      const fastCeiling = median(shapes.fast.bare.rates);
      for (const shape of ['default', 'fast'] as const) reportShape(shape, shapes[shape]);
      const afterPipeline = rssOf(product.process.pid);
      report('product worker RSS after the pipeline runs', afterPipeline.rssMiB, 'MiB', {
        name: 'bare worker',
        value: rssOf(bare.process.pid).rssMiB,
      });

      // Backlog: the real Schedule with the default pollInterval, triggered once at the start.
      const backlogSource = config.sources.find((s) => s.id === 'backlog')!;
      const started = performance.now();
      const backlogFiles = SKIP.has('backlog') ? 0 : BACKLOG_FILES;
      await upsertPollSchedule(client, config, backlogSource);
      await triggerPollSchedule(client, 'backlog');
      const steady: number[] = [];
      await waitFor(
        'backlog DONE',
        async () => {
          steady.push(rssOf(product.process.pid).rssMiB);
          if (process.env.BENCH_PROGRESS) {
            const at = ((performance.now() - started) / 1000).toFixed(1);
            const inFlight = await ledger.inFlight('backlog', config.clusterId);
            console.log(`backlog t=${at}s in flight ${inFlight} ${JSON.stringify(await ledger.counts('backlog'))}`);
          }
          return allDone(ledger, config.clusterId, 'backlog', backlogFiles);
        },
        2_000,
        3_600_000,
      );
      const backlogRate = backlogFiles / ((performance.now() - started) / 1000);
      await deletePollSchedule(client, 'backlog');
      if (process.env.BENCH_PROGRESS) await printPolls(client, 'backlog');
      report(
        `backlog of ${BACKLOG_FILES} files, default source config (maxAcceptPerPoll ${backlogSource.maxAcceptPerPoll}, ` +
          `pollInterval ${backlogSource.pollIntervalMs / 1000} s, maxInFlight ${backlogSource.maxInFlight})`,
        backlogRate,
        'files/s',
        { name: 'the same pipeline, all claimed at once', value: filesPerS },
      );
      const peak = rssOf(product.process.pid).peakMiB;
      const steadyRss = median(steady.slice(Math.floor(steady.length / 2)));
      report(
        `product worker RSS (maxConcurrentActivities ${config.worker.maxConcurrentActivities}): steady, backlog's 2nd half`,
        steadyRss,
        'MiB',
        { name: 'its peak (VmHWM)', value: peak },
      );
      console.log(`bench took ${round((performance.now() - benchStarted) / 1000, 1)} s; load ${load()}`);
      console.log(
        `bench: files_per_s=${round(filesPerS, 1)} ceiling_ratio=${round(filesPerS / ceiling)} ` +
          `claim_first_x=${round(claim.firstX, 1)} claim_steady_x=${round(claim.steadyX, 1)} ` +
          `download_ratio=${round(downloadRatio)} backlog_files_per_s=${round(backlogRate, 1)} ` +
          `worker_rss_mib=${Math.round(peak)} fast_files_per_s=${round(fastFilesPerS, 1)} ` +
          `fast_ceiling_ratio=${round(fastFilesPerS / fastCeiling)}`,
      );
    } finally {
      redis.disconnect();
      await connection.close();
    }
  } finally {
    await workers?.stop();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
