// Fault scenario "Temporal restart": mid-run, with files in every stage, the Temporal dev server is stopped and
// started again on the same port and database file. Workers and clients reconnect on their own, the workflows
// in flight carry on from their histories, and every file ends DONE exactly once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { ledgerRows } from '../../src/ledger';
import { accountSource, scaled, secondClaims } from '../helpers/faults';
import {
  finished,
  keepPolling,
  makeFiles,
  progress,
  putFiles,
  slowCountingProcessor,
  summarizeInterruptions,
  tallyWorkflows,
  waitAllFinished,
  waitUntil,
} from '../helpers/fault-run';
import { tempDir } from '../helpers/servers';
import { usePipeline } from '../helpers/pipeline';

const FILES = scaled(120, 400);
const RESTARTS = scaled(1, 3);
const DOWN_MS = 3_000;
const SOURCE = 'temporal-restart';
const invocationsLog = path.join(tempDir('ftp-ingest-temporal-restart-'), 'invocations.log');

const pipeline = usePipeline({
  throttleBytesPerSecond: 256 * 1024,
  sources: [{ id: SOURCE, processor: slowCountingProcessor(invocationsLog, 0.3) }],
});
// The pipeline stops the servers it started; the dev server started again by restartTemporal is stopped after it.
after(() => pipeline.temporal.stop());

test(
  `Temporal restart: ${FILES} files, ${RESTARTS} dev-server restart(s) mid-run`,
  { timeout: scaled(300_000, 900_000) },
  async (t) => {
    const started = Date.now();
    await pipeline.spawnWorker('temporal-restart-worker-1');
    await pipeline.spawnWorker('temporal-restart-worker-2');
    const polling = keepPolling(pipeline, SOURCE);
    t.after(() => polling.stop());
    const files = makeFiles(FILES);
    const perRestart = Math.ceil(FILES / RESTARTS);
    const expected = new Map<string, string>();
    const restarts: string[] = [];

    for (let i = 0; i < RESTARTS; i++) {
      const batch = files.slice(i * perRestart, (i + 1) * perRestart);
      putFiles(pipeline, SOURCE, batch, expected);
      const target = expected.size - batch.length + Math.ceil(batch.length / 4);
      await waitUntil(
        'a quarter of the batch finished',
        async () => ((await finished(pipeline, SOURCE, expected)) >= target ? true : undefined),
        60_000,
      );
      const counts = await pipeline.ledger.counts(SOURCE);
      const before = await finished(pipeline, SOURCE, expected);
      const stopAt = Date.now();
      progress(`restart ${i + 1}: stopping the dev server`);
      await pipeline.restartTemporal(DOWN_MS);
      progress(`restart ${i + 1}: the dev server is back`);
      const upAfterMs = Date.now() - stopAt;
      const progressed = await waitUntil(
        'a file finished after the restart',
        async () => {
          const now = await finished(pipeline, SOURCE, expected);
          return now > before ? now : undefined;
        },
        60_000,
      );
      restarts.push(
        `restart ${i + 1}: DONE ${counts.DONE}, IN_PROGRESS ${counts.IN_PROGRESS} at stop; server back after ${upAfterMs} ms; first progress ${((Date.now() - stopAt) / 1000).toFixed(1)} s after the stop (${before} → ${progressed})`,
      );
    }

    await waitAllFinished(pipeline, SOURCE, expected, scaled(90_000, 600_000));
    const seconds = (Date.now() - started) / 1000;
    await polling.stop();

    const tally = await tallyWorkflows(pipeline.client, pipeline.config.temporal.taskQueue);
    const figures = await accountSource(pipeline, {
      scenario: 'temporal-restart',
      sourceId: SOURCE,
      expected,
      invocationsLog,
    });
    const records = await ledgerRows(pipeline.ledger, SOURCE, undefined, Infinity);
    t.diagnostic(
      `files=${figures.files} done=${figures.done} commits=${figures.commits} duplicates=${figures.duplicates} lost=${figures.lost} invocations=${figures.invocations} ${secondClaims(records)}`,
    );
    for (const line of restarts) t.diagnostic(line);
    t.diagnostic(`activities re-run: ${summarizeInterruptions(tally.interruptions)}`);
    t.diagnostic(
      `workflows=${tally.workflows} statuses=${JSON.stringify(tally.statuses)} file outcomes=${JSON.stringify(tally.outcomes)} polls=${JSON.stringify(polling.stats)}`,
    );
    t.diagnostic(`seconds: total ${seconds.toFixed(1)}`);

    assert.equal(tally.statuses.FAILED ?? 0, 0, 'no workflow failed');
    assert.equal(tally.outcomes.rejected ?? 0, 0, 'no file rejected');
  },
);
