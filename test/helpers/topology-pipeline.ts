// A small pipeline run on an external Redis topology with a failover in the middle: files are put, polled and
// processed by one worker while `failover` kills the master; every file must end DONE, committed once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeRedis, connectLedgerRedis } from '../../src/connections/redis';
import { Ledger } from '../../src/ledger';
import type { Pipeline } from './pipeline';

export interface FailoverFigures {
  files: number;
  doneBeforeFailover: number;
  failover: unknown;
  commits: number;
  done: number;
  maxTries: number;
  seconds: number;
}

export async function runPipelineThroughFailover(
  pipeline: Pipeline,
  source: string,
  files: number,
  failover: () => Promise<unknown>,
): Promise<FailoverFigures> {
  const started = performance.now();
  await pipeline.startWorker();
  const names = Array.from({ length: files }, (_, i) => `f-${i}.csv`);
  for (const name of names) pipeline.putRemote(source, name, `id\n${name}\n`);

  // Polls keep coming (as the schedule would), through the failover: a poll that fails is simply the next one.
  let polling = true;
  const polls = (async () => {
    while (polling) {
      await pipeline.poll(source).catch(() => undefined);
      await sleep(1_000);
    }
  })();

  // Counted through a new connection each time: what is judged is the worker's progress, not whether the
  // test's own long-lived client has found the new master yet.
  const withLedger = async <T>(fn: (ledger: Ledger) => Promise<T>): Promise<T> => {
    const redis = connectLedgerRedis(pipeline.config, {});
    try {
      return await fn(new Ledger(redis));
    } finally {
      await closeRedis(redis);
    }
  };
  const countDone = (): Promise<number> =>
    withLedger(async (ledger) => {
      const records = await ledger.list(source, { count: 10 * files });
      return records.records.filter((r) => r.status === 'DONE').length;
    });
  const deadline = Date.now() + 60_000;
  let doneBefore = 0;
  while ((doneBefore = await countDone()) < 3) {
    assert.ok(Date.now() < deadline, 'files are not being processed');
    await sleep(100);
  }
  const failoverFigures = await failover();
  let done = 0;
  for (;;) {
    done = await countDone().catch(() => done);
    if (done === files) break;
    assert.ok(Date.now() < deadline, `only ${done} of ${files} files DONE after the failover`);
    await sleep(250);
  }
  polling = false;
  await polls;
  const [counts, commits, records] = await withLedger(
    async (ledger) =>
      [
        await ledger.counts(source),
        await ledger.commits(source),
        (await ledger.list(source, { count: 10 * files })).records,
      ] as const,
  );
  assert.deepEqual(counts, { IN_PROGRESS: 0, DONE: files, REJECTED: 0, RETRY_WAIT: 0 });
  assert.equal(commits, files, 'the commits counter: nothing committed twice');
  return {
    files,
    doneBeforeFailover: doneBefore,
    failover: failoverFigures,
    commits,
    done,
    maxTries: Math.max(...records.map((r) => r.tries)),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
