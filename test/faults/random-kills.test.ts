// Fault scenario "random kills": a pool of worker processes, one of them SIGKILLed at random moments many times
// (and restarted each time) while files of varied sizes are listed, downloaded, processed, committed and moved.
// Every file must end DONE exactly once, with its output present once and intact.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { accountSource, scaled } from '../helpers/faults';
import {
  finished,
  keepPolling,
  makeFiles,
  progress,
  putFiles,
  slowCountingProcessor,
  spawnPoolWorker,
  summarizeInterruptions,
  tallyWorkflows,
  waitAllFinished,
  waitUntil,
  type PoolWorker,
} from '../helpers/fault-run';
import { tempDir } from '../helpers/servers';
import { usePipeline } from '../helpers/pipeline';

const FILES = scaled(200, 500);
const KILLS = scaled(20, 50);
const WORKERS = 3;
const SOURCE = 'kills';
const invocationsLog = path.join(tempDir('ftp-ingest-kills-'), 'invocations.log');

const pipeline = usePipeline({
  // Downloads of the larger files last up to about half a second: long enough to be cut.
  throttleBytesPerSecond: 512 * 1024,
  sources: [
    {
      id: SOURCE,
      processor: slowCountingProcessor(invocationsLog, 0.2),
    },
  ],
});

test(
  `random kills: ${FILES} files, ${KILLS} SIGKILLs of a pool of ${WORKERS} worker processes`,
  { timeout: scaled(300_000, 900_000) },
  async (t) => {
    const started = Date.now();
    let spawned = 0;
    const startupMs: number[] = [];
    const spawn = async (): Promise<PoolWorker> => {
      const worker = await spawnPoolWorker(pipeline, `kills-worker-${++spawned}`);
      void worker.ready.then((ms) => ms > 0 && startupMs.push(ms));
      return worker;
    };
    const pool: PoolWorker[] = [];
    for (let i = 0; i < WORKERS; i++) pool.push(await spawn());
    await Promise.all(pool.map((w) => w.ready));
    const polling = keepPolling(pipeline, SOURCE);
    t.after(() => polling.stop());

    // Files arrive in waves between the kills, so that every kill finds work in every stage (listing too).
    // A victim is a worker that has been up for a moment (a worker killed while it starts kills nothing).
    const expected = new Map<string, string>();
    const all = makeFiles(FILES);
    const perWave = Math.ceil(FILES / KILLS);
    let kills = 0;
    const deadWorkers = new Set<string>();
    const finishedAtKill: number[] = [];
    while (kills < KILLS) {
      putFiles(pipeline, SOURCE, all.splice(0, perWave), expected);
      await sleep(1_000 + Math.random() * 1_500);
      const upFor = (w: PoolWorker): number => (w.readyAt === undefined ? -1 : Date.now() - w.readyAt);
      await waitUntil(
        'a worker up for a second',
        () => (pool.some((w) => upFor(w) > 1_500) ? true : undefined),
        60_000,
        50,
      );
      const candidates = pool.filter((w) => upFor(w) > 1_500);
      const victim = candidates[Math.floor(Math.random() * candidates.length)] as PoolWorker;
      deadWorkers.add(`${victim.child.process.pid}@${os.hostname()}`);
      victim.child.process.kill('SIGKILL');
      await victim.child.stop();
      kills++;
      finishedAtKill.push(await finished(pipeline, SOURCE, expected).catch(() => -1));
      progress(
        `kill ${kills}: ${victim.name} (up ${upFor(victim)} ms), finished ${finishedAtKill.at(-1)}/${expected.size}`,
      );
      pool[pool.indexOf(victim)] = await spawn();
    }
    putFiles(pipeline, SOURCE, all.splice(0), expected);
    const killingSeconds = (Date.now() - started) / 1000;

    await waitAllFinished(pipeline, SOURCE, expected, scaled(120_000, 600_000));
    const drainSeconds = (Date.now() - started) / 1000 - killingSeconds;
    await polling.stop();

    const tally = await tallyWorkflows(pipeline.client, pipeline.config.temporal.taskQueue, deadWorkers);
    const figures = await accountSource(pipeline, {
      scenario: 'random-kills',
      sourceId: SOURCE,
      expected,
      invocationsLog,
      kills,
    });
    t.diagnostic(
      `files=${figures.files} done=${figures.done} commits=${figures.commits} duplicates=${figures.duplicates} lost=${figures.lost} invocations=${figures.invocations} kills=${kills} workers-spawned=${spawned} worker-startup-ms=${Math.min(...startupMs)}..${Math.max(...startupMs)}`,
    );
    t.diagnostic(`files finished at each kill: ${finishedAtKill.join(',')}`);
    t.diagnostic(`activities re-run after a kill: ${summarizeInterruptions(tally.interruptions)}`);
    t.diagnostic(
      `workflow task timeouts ${JSON.stringify(tally.workflowTaskTimeouts)}; superseded ${JSON.stringify(tally.superseded)}`,
    );
    t.diagnostic(
      `workflows=${tally.workflows} statuses=${JSON.stringify(tally.statuses)} file outcomes=${JSON.stringify(tally.outcomes)} polls=${JSON.stringify(polling.stats)}`,
    );
    t.diagnostic(
      `seconds: killing ${killingSeconds.toFixed(1)}, drain ${drainSeconds.toFixed(1)}, total ${((Date.now() - started) / 1000).toFixed(1)}`,
    );

    assert.equal(tally.statuses.FAILED ?? 0, 0, 'no workflow failed');
    assert.equal(tally.outcomes.rejected ?? 0, 0, 'no file rejected');
    // The kills did cut work in flight: download and process runs were taken over by another worker.
    assert.ok(tally.interruptions.downloadFile, 'a download was interrupted by a kill');
    assert.ok(tally.interruptions.processFile, 'a processor run was interrupted by a kill');
  },
);
