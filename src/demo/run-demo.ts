import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_PASSWORD_ENV, loadConfig, type AppConfig } from '../config';
import { closeRedis, connectRedis } from '../connections/redis';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { connectClient } from '../connections/temporal';
import { Ledger, ledgerRows } from '../ledger';
import { deletePollSchedule, upsertPollSchedule } from '../starter/schedules';
import { ErrorTypes } from '../shared/types';
import { startEmbeddedStack, type EmbeddedStack } from '../stack/embedded';
import { writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } from '../stack/worker-process';
import { prepareDataDir } from './data-dir';
import { plainLines, readProgress, renderView, type FileProgress, type Phase } from './progress';
import { writeSampleFiles } from './sample-files';
import { DemoWorkers } from './workers';
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
/** What `--processor command` runs: harmless, in every Debian, and it reads the whole downloaded copy. */
const DEMO_COMMAND = ['wc', '-c', '{file}'];

/**
 * The seed's demo, end to end on real servers: an embedded stack, sample files on the FTP server, worker
 * processes (two, with two activity slots each), the poll schedule and a live per-file progress view.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? process.stderr;
  const started = Date.now();
  prepareDataDir(options.dataDir);
  const password = randomBytes(12).toString('hex');
  const stack = await startEmbeddedStack({ dataDir: options.dataDir, ftpPassword: password });
  let workers: DemoWorkers | undefined;
  try {
    writeSampleFiles(stack.ftp.root, options.files);
    const configFile = writeDemoConfig(options, stack);
    const config = loadConfig({ file: configFile, env: {} });
    out.write(`Temporal UI: ${stack.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows\n`);
    out.write(`FTP server: ftp://${stack.ftp.user}@${stack.ftp.host}:${stack.ftp.port} (${options.files} files)\n`);
    const bundle = await writeWorkflowBundle(path.join(options.dataDir, 'workflow-bundle.js'));
    const env = { [DEMO_PASSWORD_ENV]: password, [WORKFLOW_BUNDLE_ENV]: bundle };
    workers = new DemoWorkers({ configFile, env, dataDir: options.dataDir });
    await workers.start(options.workers);
    out.write(`Workers: ${options.workers} processes (logs in ${options.dataDir})\n`);
    out.write(`Metrics: ${workers.metricsUrls()[0]} (worker 1; /healthz, /readyz)\n`);
    return await watch(config, options, started, { out, workers });
  } finally {
    await workers?.stop();
    await stack.stop();
  }
}

function writeDemoConfig(options: DemoOptions, stack: EmbeddedStack): string {
  // 10 steps of 500 ms with a 2 s heartbeat timeout: heartbeats are throttled to 80% of it, so the live view
  // sees the progress move a few times per file instead of only the first step.
  const processorOptions = demoProcessorOptions(options.processor);
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

function demoProcessorOptions(processor: string): Record<string, unknown> {
  if (processor === 'delay') return { steps: 10, stepMs: 500 };
  // The command processor has no default command: without one every file would be rejected.
  if (processor === 'command') return { command: DEMO_COMMAND };
  return {};
}

async function watch(
  config: AppConfig,
  options: DemoOptions,
  started: number,
  { out, workers }: { out: NodeJS.WriteStream; workers: DemoWorkers },
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
      if (workers.failure) throw workers.failure;
      printNotices(out, screen, workers.takeNotices());
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

/** Lines between two ticks of the view (a worker died): above the view, which a terminal then redraws below. */
function printNotices(out: NodeJS.WriteStream, screen: Screen, notices: string[]): void {
  if (notices.length === 0) return;
  if (out.isTTY && screen.drawn > 0) out.write(`\x1b[${screen.drawn}A\x1b[J`);
  screen.drawn = 0;
  for (const notice of notices) out.write(`${notice}\n`);
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

/**
 * A DONE file may still be moving into processedDir: wait for the workflow of each file's last attempt. The
 * workflow of a REJECTED file fails by design (FileRejected, so the Web UI lists it): that is its normal end.
 */
async function waitForFileWorkflows(client: Client, ledger: Ledger, sourceId: string): Promise<void> {
  const records = await ledgerRows(ledger, sourceId, undefined, 10_000);
  for (const { workflowId } of records) {
    if (!workflowId) continue;
    try {
      await client.workflow.getHandle(workflowId).result();
    } catch (err) {
      if (!isRejection(err)) throw err;
    }
  }
}

function isRejection(err: unknown): boolean {
  return (
    err instanceof WorkflowFailedError &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === ErrorTypes.rejected
  );
}
