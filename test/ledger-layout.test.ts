// The ledger's storage (DESIGN.md §4): one packed record per path in the source's `records` hash, finished
// records kept small, retention and the stable-size memory walked by cursors kept in Redis.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileWorkflowId } from '../src/shared/ids';
import { claimOptions, file, freshSource, useLedgerFixture } from './helpers/ledger';

const fx = useLedgerFixture();

const recordsKey = (src: string): string => fx.ledger.keys(src)[1] ?? '';
const seenKey = (src: string): string => fx.ledger.keys(src)[4] ?? '';

describe('packed records', () => {
  test("a finished record keeps no in-flight field; its workflow id is still the attempt's", async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('in/a.csv')], claimOptions({ pollRun: 'poll-1' }));
    const claim = claims[0]!;
    const live = await fx.ledger.get(src, 'in/a.csv');
    assert.equal(live?.pollRun, 'poll-1');
    assert.equal(live?.leaseUntil, claim.leaseUntil);
    const done = await fx.ledger.commit(src, 'in/a.csv', claim.token, '{"sha256":"ab"}');
    assert.ok(done.ok);
    const record = await fx.ledger.get(src, 'in/a.csv');
    assert.deepEqual(record, done.record, 'the commit reply is what a later read gives');
    assert.equal(record?.workflowId, fileWorkflowId(src, 'in/a.csv', claim.version, 1));
    assert.equal(record?.workflowId, claim.workflowId);
    for (const field of ['pollRun', 'leaseUntil', 'retryAt', 'openRuns', 'missingSince'] as const) {
      assert.equal(record?.[field], undefined, field);
    }
    const packed = (await fx.redis.hget(recordsKey(src), 'in/a.csv')) ?? '';
    assert.ok(packed.startsWith(`D|${claim.version}|A||`), packed);
    assert.ok(!packed.includes('poll-1'), 'the poll run is gone from a finished record');
  });

  test("a finished record keeps its poll run's origin (`backfill:`), not the run id", async () => {
    const src = freshSource();
    const opts = claimOptions({ pollRun: 'backfill:1234-abcd' });
    const { claims } = await fx.ledger.claimBatch(src, [file('a')], opts);
    await fx.ledger.commit(src, 'a', claims[0]!.token);
    assert.equal((await fx.ledger.get(src, 'a'))?.pollRun, 'backfill:');
  });

  test("'|' and '%' in texts (cluster, poll run, error, result) read back as written and decide as before", async () => {
    const src = freshSource();
    const cluster = 'eu|1%7C';
    const opts = claimOptions({ clusterId: cluster, pollRun: 'run|%25' });
    const first = await fx.ledger.claimBatch(src, [file('a'), file('b')], opts);
    assert.equal(first.claims.length, 2);
    const retried = await fx.ledger.claimBatch(src, [file('a'), file('b')], opts);
    assert.deepEqual(
      retried.claims.map((c) => c.token),
      first.claims.map((c) => c.token),
      'same run: the same claims back',
    );
    const later = await fx.ledger.claimBatch(src, [file('a')], { ...opts, pollRun: 'run|2' });
    assert.deepEqual(later.skipped, { 'in-flight': 1 });
    const other = await fx.ledger.claimBatch(src, [file('a')], claimOptions({ clusterId: 'eu|1', pollRun: 'x' }));
    assert.deepEqual(other.skipped, { leased: 1 });

    const [a, b] = first.claims;
    const released = await fx.ledger.release(src, 'a', a!.token, 'bad | header 100%', {
      retryDelayMs: 60_000,
      maxTries: 3,
    });
    assert.ok(released.ok);
    const committed = await fx.ledger.commit(src, 'b', b!.token, '{"note":"x|y%25"}');
    assert.ok(committed.ok);
    const [ra, rb] = await fx.ledger.records(src, ['a', 'b']);
    assert.equal(ra?.owner, cluster);
    assert.equal(ra?.pollRun, 'run|%25');
    assert.equal(ra?.error, 'bad | header 100%');
    assert.equal(rb?.owner, cluster);
    assert.equal(rb?.result, '{"note":"x|y%25"}');
  });
});

describe('retention over the records hash', () => {
  test('successive calls walk every finished record (the cursor is kept in Redis), then start over', async () => {
    const src = freshSource();
    // More records than a small hash holds in one listpack, so HSCAN really pages.
    const names = Array.from({ length: 400 }, (_, i) => `f-${i}`);
    const { claims } = await fx.ledger.claimBatch(
      src,
      names.map((n) => file(n)),
      claimOptions({ maxAcceptPerPoll: 400, maxInFlight: 400 }),
    );
    for (const claim of claims.slice(0, 300)) await fx.ledger.commit(src, claim.path, claim.token);
    const seen = new Set<string>();
    let calls = 0;
    let largest = 0;
    while (seen.size < 300 && calls < 100) {
      const page = await fx.ledger.finishedBefore(src, 0, 20);
      page.forEach((p) => seen.add(p));
      largest = Math.max(largest, page.length);
      calls += 1;
    }
    assert.equal(seen.size, 300, 'every finished record is found');
    assert.ok(calls > 1 && largest < 300, `paged (${calls} calls, at most ${largest} a call)`);
    assert.ok(
      claims.slice(300).every((c) => !seen.has(c.path)),
      'records in flight are never candidates',
    );
    // The poll lists the first 100: only the 200 others may go.
    const gone = [...seen].filter((p) => Number(p.slice(2)) >= 100);
    assert.equal(await fx.ledger.forget(src, gone, 0), 200);
    const size = await fx.ledger.size(src);
    assert.deepEqual([size.records, size.finished, size.unfinished], [200, 100, 100]);
    assert.equal((await fx.ledger.get(src, 'f-0'))?.status, 'DONE');
    assert.equal(await fx.ledger.get(src, 'f-150'), undefined);
  });

  test('a REJECTED record is a retention candidate from the time it was rejected', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('bad')], claimOptions());
    const rejected = await fx.ledger.reject(src, 'bad', claims[0]!.token, 'processor: bad header');
    assert.ok(rejected.ok && rejected.record.rejectedAt !== undefined);
    assert.deepEqual(await fx.ledger.finishedBefore(src, 60_000, 10), [], 'too recent');
    assert.deepEqual(await fx.ledger.finishedBefore(src, 0, 10), ['bad']);
    assert.equal(await fx.ledger.forget(src, ['bad'], 0), 1);
    assert.equal(await fx.ledger.get(src, 'bad'), undefined);
  });
});

describe('stable-size memory', () => {
  test('forgets paths no longer listed; a listed path keeps its first-seen time', async () => {
    const src = freshSource();
    await fx.ledger.observeVersions(src, [file('a'), file('b'), file('c')], 60_000);
    const before = await fx.redis.hget(seenKey(src), 'a');
    await fx.ledger.observeVersions(src, [file('a'), file('d')], 60_000, 0);
    assert.deepEqual((await fx.redis.hkeys(seenKey(src))).sort(), ['a', 'd']);
    assert.equal(await fx.redis.hget(seenKey(src), 'a'), before, 'its clock runs on');
    assert.deepEqual([...(await fx.ledger.observeVersions(src, [file('a')], 0))], ['a'], 'stable at once');
  });

  test('trims a large memory a page per call until only listed paths are left', async () => {
    const src = freshSource();
    const names = Array.from({ length: 3000 }, (_, i) => `p-${i}`);
    await fx.ledger.observeVersions(
      src,
      names.map((n) => file(n)),
      60_000,
    );
    const listed = [file('p-1'), file('p-2')];
    let calls = 0;
    while ((await fx.redis.hlen(seenKey(src))) > 2 && calls < 50) {
      await fx.ledger.observeVersions(src, listed, 60_000, 0);
      calls += 1;
    }
    assert.deepEqual((await fx.redis.hkeys(seenKey(src))).sort(), ['p-1', 'p-2']);
    assert.ok(calls > 1, `trimmed over ${calls} calls, a page each`);
  });

  test('a path only another cluster lists (other filters) still becomes stable for it', async () => {
    const src = freshSource();
    const stableMs = 300;
    // Cluster B lists b.bin, cluster A (filtered to *.csv) does not; they alternate, A between every two of B's.
    const b = (): Promise<Set<string>> => fx.ledger.observeVersions(src, [file('a.csv'), file('b.bin')], stableMs);
    const a = (): Promise<Set<string>> => fx.ledger.observeVersions(src, [file('a.csv')], stableMs);
    await b();
    await a();
    await sleep(stableMs + 50);
    await a();
    assert.deepEqual([...(await b())].sort(), ['a.csv', 'b.bin'], "A's listings left b.bin's clock running");
    // Once first seen longer ago than the keep time, a path no listing gives is forgotten.
    await fx.ledger.observeVersions(src, [file('a.csv')], stableMs, stableMs);
    assert.deepEqual(await fx.redis.hkeys(seenKey(src)), ['a.csv']);
  });
});
