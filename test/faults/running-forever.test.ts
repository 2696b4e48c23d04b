// Issue 7, item 8: nothing runs forever. A processor that never returns ends REJECTED `process-timeout`; a
// file that kills its worker every time ends REJECTED `crash-loop` after maxCrashes runs, and the workers stop
// dying. Only worker processes here (no worker in the test process): the crashing processor kills its worker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountSource, sha256 } from '../helpers/faults';
import { spawnPoolWorker, type PoolWorker } from '../helpers/fault-run';
import { usePipeline } from '../helpers/pipeline';

/** Short deadlines: every stuck case must end within seconds. */
const SHORT = { pollInterval: '1s', vanishAfter: '3s', processTimeout: '2s', maxCrashes: 2, heartbeatTimeout: '1s' };
const command = (...argv: string[]): Record<string, unknown> => ({ name: 'command', options: { command: argv } });

const pipeline = usePipeline({
  sources: [
    { id: 'hang', ...SHORT, processor: command('sleep', '1000'), maxTries: 1 },
    // The command's parent is the worker process that runs the processor (no shell in between).
    { id: 'crash', ...SHORT, processor: command('sh', '-c', 'kill -9 $PPID') },
    // The small-file fast path downloads again before each process run: its clean downloads must not hide it.
    { id: 'crash-fast', ...SHORT, smallFileMaxBytes: 1024, processor: command('sh', '-c', 'kill -9 $PPID') },
    { id: 'fine', ...SHORT },
  ],
});

/** Worker processes kept at `size`: one that dies is replaced at once, and counted. */
function supervisedPool(size: number): {
  deaths: string[];
  live: () => PoolWorker[];
  /** Resolves once `size` workers are up. */
  full(): Promise<void>;
  stop(): Promise<void>;
} {
  const deaths: string[] = [];
  const pool: PoolWorker[] = [];
  let spawned = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const [i, worker] of pool.entries()) {
        const { exitCode, signalCode } = worker.child.process;
        if (exitCode === null && signalCode === null) continue;
        deaths.push(`${worker.name}:${signalCode ?? exitCode}`);
        pool.splice(i, 1);
        break;
      }
      if (pool.length < size) pool.push(await spawnPoolWorker(pipeline, `pool-${++spawned}`));
      else await sleep(100);
    }
  })();
  return {
    deaths,
    live: () => [...pool],
    async full() {
      while (pool.length < size) await sleep(50);
      await Promise.all(pool.map((w) => w.ready));
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(pool.map((worker) => worker.child.stop(2_000)));
    },
  };
}

/** Processes (pid, parent, command line) whose parent is one of `parents`. */
function childrenOf(parents: number[]): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid]) => parents.includes(Number(ppid)))
    .map((parts) => parts.join(' '));
}

describe('nothing runs forever', () => {
  test('item 8a: a processor that never returns ends REJECTED process-timeout, in bounded time', async (t) => {
    const pool = supervisedPool(1);
    t.after(() => pool.stop());
    await pool.full();
    pipeline.putRemote('hang', 'forever.csv', 'never processed\n');
    pipeline.putRemote('fine', 'ok.csv', 'processed\n');
    const startedAt = Date.now();
    assert.equal((await pipeline.poll('hang')).claimed, 1);
    assert.equal((await pipeline.poll('fine')).claimed, 1);

    const record = await pipeline.waitForStatus('hang', 'forever.csv', ['REJECTED'], 45_000);
    const seconds = (Date.now() - startedAt) / 1000;
    const result = await pipeline.fileResult(record);
    t.diagnostic(`forever.csv: REJECTED after ${seconds.toFixed(1)} s: ${JSON.stringify(result)}`);
    assert.match(record.error ?? '', /^process-timeout: /);
    assert.equal(record.tries, 1);
    assert.ok(seconds < 30, `within the bound (${seconds.toFixed(1)} s)`);
    assert.deepEqual(
      (await pipeline.ledger.deadLetters('hang')).map((l) => [l.path, l.error.split(':')[0]]),
      [['forever.csv', 'process-timeout']],
    );
    assert.equal((await pipeline.ledger.counts('hang')).IN_PROGRESS, 0);
    // The stopped processor's command does not live on under the worker.
    const pids = pool.live().map((w) => w.child.process.pid ?? -1);
    assert.deepEqual(
      childrenOf(pids).filter((line) => line.includes('sleep 1000')),
      [],
    );
    assert.deepEqual(pool.deaths, []);
    await pipeline.waitForStatus('fine', 'ok.csv', ['DONE'], 30_000);
    await accountSource(pipeline, {
      scenario: 'process-timeout',
      sourceId: 'fine',
      expected: new Map([['ok.csv', sha256('processed\n')]]),
    });
  });

  for (const source of ['crash', 'crash-fast']) {
    test(`item 8b: a file that kills its worker every time ends REJECTED crash-loop; the workers stop dying (${source})`, async (t) => {
      const pool = supervisedPool(2);
      t.after(() => pool.stop());
      await pool.full();
      pipeline.putRemote(source, 'poison.bin', 'kills whoever processes it\n');
      const startedAt = Date.now();
      assert.equal((await pipeline.poll(source)).claimed, 1);

      const record = await pipeline.waitForStatus(source, 'poison.bin', ['REJECTED'], 75_000);
      const seconds = (Date.now() - startedAt) / 1000;
      const deathsAtReject = [...pool.deaths];
      // Nothing else kills a worker after the verdict: wait a few heartbeat timeouts and poll rounds.
      for (let i = 0; i < 3; i++) {
        await pipeline.poll(source);
        await sleep(1_000);
      }
      t.diagnostic(
        `poison.bin: REJECTED after ${seconds.toFixed(1)} s, workers died ${deathsAtReject.join(', ')}; ${JSON.stringify(record.error)}`,
      );
      assert.match(record.error ?? '', /^crash-loop: /);
      assert.equal(record.tries, 1, 'one claim attempt: its runs crashed');
      assert.equal(deathsAtReject.length, 2, 'maxCrashes (2) runs killed their worker, no more');
      assert.ok(
        deathsAtReject.every((d) => d.endsWith(':SIGKILL')),
        'each worker was killed by the processor ($PPID is the worker process)',
      );
      assert.deepEqual(pool.deaths, deathsAtReject, 'the workers stop dying');
      assert.deepEqual(
        (await pipeline.ledger.deadLetters(source)).map((l) => [l.path, l.error.split(':')[0]]),
        [['poison.bin', 'crash-loop']],
      );
      const result = (await pipeline.fileResult(record)) as { outcome: string };
      assert.equal(result.outcome, 'rejected');
      const counts = await pipeline.ledger.counts(source);
      assert.deepEqual([counts.IN_PROGRESS, counts.RETRY_WAIT, counts.REJECTED], [0, 0, 1]);
    });
  }
});
