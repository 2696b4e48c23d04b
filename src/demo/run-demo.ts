import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_PASSWORD_ENV, loadConfig, type AppConfig } from '../config';
import { closeRedis, connectRedis } from '../connections/redis';
import type { Client } from '@temporalio/client';
import { connectClient } from '../connections/temporal';
import { Ledger, ledgerRows } from '../ledger';
import { deletePollSchedule, upsertPollSchedule } from '../starter/schedules';
import { startEmbeddedStack, type EmbeddedStack } from '../stack/embedded';
import { spawnWorkerProcess, writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } from '../stack/worker-process';
import { plainLines, readProgress, renderView, type FileProgress, type Phase } from './progress';
import { writeSampleFiles } from './sample-files';
import { ledgerOf } from '../connections/ledger';

export interface DemoOptions {
  files: number;
  processor: string;
  workers: number;
  once: boolean;
  dataDir: string;
  /** Where to draw the live view (stderr); the final JSON line goes to stdout. */
  out?: NodeJS.WriteStream;
}

export interface DemoSummary {
  files: number;
  done: number;
  rejected: number;
  seconds: number;
}

const SOURCE_ID = 'demo';
const DEMO_METRICS_PORT = 9464;

/**
 * The seed's demo, end to end on real servers: an embedded stack, sample files on the FTP server, worker
 * processes (two, with two activity slots each), the poll schedule and a live per-file progress view.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? process.stderr;
  const started = Date.now();
  fs.rmSync(options.dataDir, { recursive: true, force: true });
  const password = randomBytes(12).toString('hex');
  const stack = await startEmbeddedStack({ dataDir: options.dataDir, ftpPassword: password });
  const workers: ReturnType<typeof spawnWorkerProcess>[] = [];
  try {
    writeSampleFiles(stack.ftp.root, options.files);
    const configFile = writeDemoConfig(options, stack);
    const config = loadConfig({ file: configFile, env: {} });
    out.write(`Temporal UI: ${stack.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows\n`);
    out.write(`FTP server: ftp://${stack.ftp.user}@${stack.ftp.host}:${stack.ftp.port} (${options.files} files)\n`);
    const bundle = await writeWorkflowBundle(path.join(options.dataDir, 'workflow-bundle.js'));
    const env = { [DEMO_PASSWORD_ENV]: password, [WORKFLOW_BUNDLE_ENV]: bundle };
    for (let i = 1; i <= options.workers; i++) {
      // Each worker's /metrics, /healthz, /readyz on its own port (a port already taken is logged and skipped).
      const workerEnv = { ...env, FTP_INGEST_METRICS_PORT: String(DEMO_METRICS_PORT + i - 1) };
      const logFile = path.join(options.dataDir, `worker-${i}.log`);
      workers.push(spawnWorkerProcess({ configFile, env: workerEnv, logFile }));
    }
    out.write(`Workers: ${options.workers} processes (logs in ${options.dataDir})\n`);
    out.write(`Metrics: http://127.0.0.1:${DEMO_METRICS_PORT}/metrics (worker 1; /healthz, /readyz)\n`);
    return await watch(config, options, started, out);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await stack.stop();
  }
}

function writeDemoConfig(options: DemoOptions, stack: EmbeddedStack): string {
  // 10 steps of 500 ms with a 2 s heartbeat timeout: heartbeats are throttled to 80% of it, so the live view
  // sees the progress move a few times per file instead of only the first step.
  const processorOptions = options.processor === 'delay' ? { steps: 10, stepMs: 500 } : {};
  const config = {
    clusterId: 'demo',
    temporal: { address: stack.temporal.address, namespace: stack.temporal.namespace, taskQueue: 'ftp-ingest-demo' },
    redis: { url: stack.redis.url },
    workDir: path.join(options.dataDir, 'work'),
    processedDir: path.join(options.dataDir, 'processed'),
    worker: { maxConcurrentActivities: 2 },
    sources: [
      {
        id: SOURCE_ID,
        host: stack.ftp.host,
        port: stack.ftp.port,
        user: stack.ftp.user,
        passwordEnv: DEMO_PASSWORD_ENV,
        pollInterval: '2s',
        retryTimeout: '30s',
        heartbeatTimeout: '2s',
        activityMaxInterval: '5s',
        processor: { name: options.processor, options: processorOptions },
      },
    ],
  };
  const file = path.join(options.dataDir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function watch(
  config: AppConfig,
  options: DemoOptions,
  started: number,
  out: NodeJS.WriteStream,
): Promise<DemoSummary> {
  const client = await connectClient(config, {});
  const redis = connectRedis(config, {});
  const ledger = ledgerOf(redis, config);
  const source = config.sources[0]!;
  try {
    await upsertPollSchedule(client, config, source);
    out.write(`Schedule ftp-poll/${source.id}: every ${source.pollIntervalMs / 1000}s\n`);
    const screen: Screen = { drawn: 0, phases: new Map(), summary: {} };
    for (;;) {
      const files = await readProgress(client, ledger, source.id);
      draw(out, files, screen, { expected: options.files, seconds: secondsSince(started) });
      const summary = summarize(files, options.files, started);
      if (options.once && summary.done + summary.rejected >= options.files) {
        await deletePollSchedule(client, source.id);
        await waitForFileWorkflows(client, ledger, source.id);
        return { ...summary, seconds: secondsSince(started) };
      }
      await sleep(1_000);
    }
  } finally {
    await closeRedis(redis);
    await client.connection.close();
  }
}

interface Screen {
  /** Lines drawn by the last tick (TTY). */
  drawn: number;
  /** Phase of each file as last printed (plain lines). */
  phases: Map<string, Phase>;
  summary: { text?: string };
}

function draw(
  out: NodeJS.WriteStream,
  files: FileProgress[],
  screen: Screen,
  view: { expected: number; seconds: number },
): void {
  // Redraw in place on a terminal, within its height; a log file or pipe gets plain lines when something changed.
  if (out.isTTY) {
    const lines = renderView(files, { ...view, rows: out.rows, columns: out.columns });
    if (screen.drawn > 0) out.write(`\x1b[${screen.drawn}A\x1b[J`);
    out.write(`${lines.join('\n')}\n`);
    screen.drawn = lines.length;
    return;
  }
  for (const line of plainLines(files, screen.phases, screen.summary, view)) out.write(`${line}\n`);
}

function summarize(files: FileProgress[], total: number, started: number): DemoSummary {
  return {
    files: total,
    done: files.filter((f) => f.status === 'DONE').length,
    rejected: files.filter((f) => f.status === 'REJECTED').length,
    seconds: secondsSince(started),
  };
}

function secondsSince(started: number): number {
  return Math.round((Date.now() - started) / 100) / 10;
}

/** A DONE file may still be moving into processedDir: wait for the workflow of each file's last attempt. */
async function waitForFileWorkflows(client: Client, ledger: Ledger, sourceId: string): Promise<void> {
  const records = await ledgerRows(ledger, sourceId, undefined, 10_000);
  for (const { workflowId } of records) {
    if (workflowId) await client.workflow.getHandle(workflowId).result();
  }
}
