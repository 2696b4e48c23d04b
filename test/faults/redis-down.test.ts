// Fault scenario "Redis down": mid-run, with files in every stage, redis-server is stopped and started again on
// the same port and data (append-only file), twice: once for less than the lease, once for longer. While it is
// down nothing commits and nothing is moved (fail closed); the workflows wait and retry instead of failing, and
// afterwards every file ends DONE exactly once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import type { Status } from '../../src/ledger';
import { startRedisServer } from '../../src/stack/redis';
import { ledgerRows } from '../../src/ledger';
import { accountSource, scaled, secondClaims } from '../helpers/faults';
import {
  finished,
  keepPolling,
  makeFiles,
  outputsNow,
  progress,
  putFiles,
  slowCountingProcessor,
  summarizeInterruptions,
  tallyWorkflows,
  waitAllFinished,
  waitUntil,
  type TestFile,
} from '../helpers/fault-run';
import { tempDir } from '../helpers/servers';
import { usePipeline } from '../helpers/pipeline';
import { openPollsReport, stuckReport } from '../helpers/stuck-report';

const FILES = scaled(120, 400);
const SOURCE = 'redis-down';
const LEASE_MS = 8_000;
/** Down for a few heartbeats but less than the lease, then for longer than the lease (leases expire: takeovers). */
const OUTAGES_MS = [4_000, LEASE_MS + 4_000];
const invocationsLog = path.join(tempDir('ftp-ingest-redis-down-'), 'invocations.log');

const pipeline = usePipeline({
  throttleBytesPerSecond: 256 * 1024,
  sources: [{ id: SOURCE, processor: slowCountingProcessor(invocationsLog, 0.3), retryTimeout: `${LEASE_MS}ms` }],
});
// The pipeline stops the servers it started; a redis-server started again here is stopped after it (same port).
after(() => pipeline.redisServer.stop());

interface Outage {
  downMs: number;
  doneBefore: number;
  inProgressBefore: number;
  /** Outputs published while Redis was down (each of a file already claimed before the stop). */
  movedWhileDown: number;
  finishedAfter: number;
}

test(
  `Redis down: ${FILES} files, outages of ${OUTAGES_MS.join(' and ')} ms mid-run`,
  { timeout: scaled(300_000, 900_000) },
  async (t) => {
    const started = Date.now();
    // The test's own client reports every failed reconnect while Redis is down; the reads below handle them.
    pipeline.redis.on('error', () => undefined);
    await pipeline.spawnWorker('redis-down-worker-1');
    await pipeline.spawnWorker('redis-down-worker-2');
    const polling = keepPolling(pipeline, SOURCE);
    t.after(() => polling.stop());
    const files = makeFiles(FILES);
    const batches: TestFile[][] = [files.slice(0, FILES / 2), files.slice(FILES / 2)];
    const expected = new Map<string, string>();
    const outages: Outage[] = [];
    /** [down, up] in ms since the epoch, on this machine's clock (the clock redis-server stamps doneAt with). */
    const windows: [number, number][] = [];
    const committedBeforeStops: Set<string>[] = [];
    /** Names the cause the first time: the unfinished files' ledger rows and workflow stories, the open polls. */
    const withReport = async (err: unknown): Promise<never> => {
      const noReport = (e: unknown): string => `no report: ${(e as Error).message}`;
      const report = [
        await stuckReport(pipeline.ledger, pipeline.client, SOURCE, expected.keys()).catch(noReport),
        await openPollsReport(pipeline.client, pipeline.config.temporal.taskQueue).catch(noReport),
      ].join('\n');
      throw new Error(`${(err as Error).message}\n${report}`, { cause: err });
    };

    for (const [i, downMs] of OUTAGES_MS.entries()) {
      putFiles(pipeline, SOURCE, batches[i] ?? [], expected);
      // Mid-run: some of these files are committed, the rest are being listed, downloaded or processed.
      const target = expected.size - (batches[i]?.length ?? 0) + Math.ceil((batches[i]?.length ?? 0) / 4);
      await waitUntil(
        'a quarter of the batch finished',
        async () => ((await finished(pipeline, SOURCE, expected)) >= target ? true : undefined),
        60_000,
      ).catch(withReport);
      const counts = await pipeline.ledger.counts(SOURCE);
      const committed = await donePaths();
      committedBeforeStops.push(committed);
      const claimed = await pathsIn(['DONE', 'IN_PROGRESS']);

      const { port } = pipeline.redisServer;
      progress(`outage ${i + 1}: stopping Redis (finished ${await finished(pipeline, SOURCE, expected)})`);
      await pipeline.redisServer.stop();
      const downAt = Date.now();
      const outputsAtStop = outputsNow(pipeline, SOURCE);
      let movedWhileDown = 0;
      while (Date.now() - downAt < downMs) {
        for (const output of outputsNow(pipeline, SOURCE)) {
          if (outputsAtStop.has(output)) continue;
          movedWhileDown++;
          // A publish checks its claim in the ledger first: only a file claimed before the stop may still be
          // published now (its commit waits for Redis); nothing is committed while Redis is down (checked below).
          assert.ok(claimed.has(output), `${output} was published while Redis was down, yet not claimed before`);
          outputsAtStop.add(output);
        }
        await sleep(100);
      }
      const upAt = Date.now();
      windows.push([downAt, upAt]);
      pipeline.redisServer = await startRedisServer(path.join(pipeline.dataDir, 'redis'), port);

      // The data came back: every commit made before the stop is still there.
      const afterRestart = await waitUntil('the ledger answers again', donePaths, 10_000);
      progress(`outage ${i + 1}: Redis is back`);
      for (const file of committed) assert.ok(afterRestart.has(file), `${file} was DONE before the stop, and is still`);
      outages.push({
        downMs,
        doneBefore: counts.DONE,
        inProgressBefore: counts.IN_PROGRESS,
        movedWhileDown,
        finishedAfter: await finished(pipeline, SOURCE, expected),
      });
    }

    await waitAllFinished(pipeline, SOURCE, expected, scaled(90_000, 600_000)).catch(withReport);
    const seconds = (Date.now() - started) / 1000;
    await polling.stop();

    // No commit while Redis was down: no DONE record is stamped inside an outage window (server time).
    const records = await ledgerRows(pipeline.ledger, SOURCE, undefined, Infinity);
    for (const [downAt, upAt] of windows) {
      const inside = records.filter((r) => r.doneAt !== undefined && r.doneAt > downAt && r.doneAt < upAt);
      assert.deepEqual(
        inside.map((r) => r.path),
        [],
        `no commit between ${downAt} and ${upAt}`,
      );
    }
    const tally = await tallyWorkflows(pipeline.client, pipeline.config.temporal.taskQueue);
    const figures = await accountSource(pipeline, {
      scenario: 'redis-down',
      sourceId: SOURCE,
      expected,
      invocationsLog,
    });
    t.diagnostic(
      `files=${figures.files} done=${figures.done} commits=${figures.commits} duplicates=${figures.duplicates} lost=${figures.lost} invocations=${figures.invocations} ${secondClaims(records)}`,
    );
    for (const o of outages) {
      t.diagnostic(
        `outage ${o.downMs} ms: DONE at stop ${o.doneBefore}, IN_PROGRESS at stop ${o.inProgressBefore}, moved while down ${o.movedWhileDown} (all committed before), finished right after restart ${o.finishedAfter}`,
      );
    }
    t.diagnostic(`activities re-run: ${summarizeInterruptions(tally.interruptions)}`);
    t.diagnostic(
      `workflows=${tally.workflows} statuses=${JSON.stringify(tally.statuses)} file outcomes=${JSON.stringify(tally.outcomes)} polls=${JSON.stringify(polling.stats)}`,
    );
    t.diagnostic(`workflow task timeouts: ${JSON.stringify(tally.workflowTaskTimeouts)}`);
    t.diagnostic(`seconds: total ${seconds.toFixed(1)}`);

    assert.equal(tally.statuses.FAILED ?? 0, 0, 'no workflow failed: they waited for Redis');
    assert.equal(tally.outcomes.rejected ?? 0, 0, 'no file rejected');
    const redisErrors = Object.values(tally.interruptions).reduce(
      (n, kinds) =>
        n +
        Object.entries(kinds)
          .filter(([k]) => k.startsWith('error:'))
          .reduce((m, [, c]) => m + c, 0),
      0,
    );
    assert.ok(redisErrors > 0, 'activities failed while Redis was down and were retried');
  },
);

async function donePaths(): Promise<Set<string>> {
  return pathsIn(['DONE']);
}

async function pathsIn(statuses: Status[]): Promise<Set<string>> {
  return new Set(
    (await ledgerRows(pipeline.ledger, SOURCE, undefined, Infinity))
      .filter((r) => statuses.includes(r.status))
      .map((r) => r.path),
  );
}
