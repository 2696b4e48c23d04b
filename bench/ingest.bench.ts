// `npm run bench`: speed and memory of the ledger and of the whole pipeline on real servers, against targets.
//   BENCH_FILES=500 npm run bench
// Prints one JSON line per measurement and exits 1 when a target is missed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import Redis from 'ioredis';
import { parseConfig } from '../src/config';
import { Ledger } from '../src/ledger';
import { fileWorkflowIdBase } from '../src/shared/ids';
import { startEmbeddedStack, type EmbeddedStack } from '../src/stack/embedded';
import { writeWorkflowBundle } from '../src/stack/worker-process';
import { createIngestWorker } from '../src/worker/create-worker';
import { pollWorkflow } from '../src/workflows';

const FILES = Number(process.env.BENCH_FILES ?? 300);
const FILE_BYTES = 64 * 1024;
const CANDIDATES = 1_000;
// Targets for a 2-core machine running the whole stack (dev server, Redis, FTP, worker) at once; seen here:
// ~80k candidates/s, ~10 files/s (CPU-bound: every file is a workflow and five activities), ~400 MiB.
const TARGETS = { ledgerCandidatesPerSecond: 20_000, pipelineFilesPerSecond: 8, peakRssMiB: 600 };
const PASSWORD_ENV = 'FTP_INGEST_BENCH_PASSWORD';

interface Measurement {
  name: string;
  value: number;
  unit: string;
  target: string;
  ok: boolean;
}

async function benchLedger(redis: Redis): Promise<Measurement> {
  const ledger = new Ledger(redis, { prefix: 'bench' });
  const candidates = Array.from({ length: CANDIDATES }, (_, i) => ({ path: `f-${i}.csv`, mtimeMs: 1_000, size: i }));
  const options = {
    clusterId: 'bench',
    leaseMs: 60_000,
    maxTries: 3,
    maxAcceptPerPoll: 1_000,
    maxInFlight: 1e9,
    attemptLabelBase: fileWorkflowIdBase,
  };
  const rounds = 20;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    // Every round re-evaluates all candidates: the first claims them, the others skip them as in flight.
    await ledger.claimBatch('ledger-bench', candidates, {
      ...options,
      pollRun: `run-${round}`,
      versionPolicy: 'reprocess',
    });
  }
  const perSecond = Math.round((rounds * CANDIDATES) / ((performance.now() - started) / 1000));
  return measurement(
    'ledger claim (batch of 1000)',
    perSecond,
    'candidates/s',
    TARGETS.ledgerCandidatesPerSecond,
    '>=',
  );
}

async function benchPipeline(stack: EmbeddedStack, dataDir: string): Promise<Measurement[]> {
  const remoteDir = path.join(stack.ftp.root, 'bench');
  fs.mkdirSync(remoteDir, { recursive: true });
  const content = Buffer.alloc(FILE_BYTES, 'x\n');
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(remoteDir, `f-${i}.bin`), content);
  const config = parseConfig({
    temporal: { address: stack.temporal.address, taskQueue: 'bench' },
    redis: { url: stack.redis.url },
    workDir: path.join(dataDir, 'work'),
    processedDir: path.join(dataDir, 'processed'),
    worker: { maxConcurrentActivities: 50 },
    sources: [
      {
        id: 'bench',
        host: stack.ftp.host,
        port: stack.ftp.port,
        user: stack.ftp.user,
        passwordEnv: PASSWORD_ENV,
        remoteDir: '/bench',
        requireStableSize: false,
        maxAcceptPerPoll: 1_000,
        maxConnections: 8,
        processor: 'checksum',
      },
    ],
  });
  const redis = new Redis(stack.redis.url);
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
  const bundle = await writeWorkflowBundle(path.join(dataDir, 'bundle.js'));
  const worker = await createIngestWorker({
    config,
    connection,
    redis,
    env: { [PASSWORD_ENV]: 'bench' },
    workflowBundle: { codePath: bundle },
  });
  const running = worker.run();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const ledger = new Ledger(redis);
    const started = performance.now();
    await client.workflow.execute(pollWorkflow, {
      taskQueue: 'bench',
      workflowId: 'bench-poll',
      args: [{ sourceId: 'bench' }],
    });
    while ((await ledger.counts('bench')).DONE < FILES) await sleep(200);
    const seconds = (performance.now() - started) / 1000;
    return [
      measurement(
        `pipeline ${FILES} files of ${FILE_BYTES / 1024} KiB`,
        Math.round((FILES / seconds) * 10) / 10,
        'files/s',
        TARGETS.pipelineFilesPerSecond,
        '>=',
      ),
      measurement('peak RSS of the worker process', Math.round(peakRss / 2 ** 20), 'MiB', TARGETS.peakRssMiB, '<='),
    ];
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running;
    redis.disconnect();
    await client.connection.close();
    await connection.close();
  }
}

function measurement(name: string, value: number, unit: string, target: number, sense: '>=' | '<='): Measurement {
  return { name, value, unit, target: `${sense} ${target}`, ok: sense === '>=' ? value >= target : value <= target };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-bench-'));
  const stack = await startEmbeddedStack({ dataDir, ftpPassword: 'bench', headless: true });
  const results: Measurement[] = [];
  try {
    const redis = new Redis(stack.redis.url);
    results.push(await benchLedger(redis));
    redis.disconnect();
    results.push(...(await benchPipeline(stack, dataDir)));
  } finally {
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  for (const result of results) console.log(JSON.stringify(result));
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
