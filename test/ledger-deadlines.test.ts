// Every unfinished record has an owner and a deadline (DESIGN.md §4b): the `due` set, the vanish clock, owed
// remote actions, crash counting, and the dry-run claim that writes nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PREFIX, sourceKeys } from '../src/ledger/keys';
import { claimOptions, file, freshSource, sleep, useLedgerFixture } from './helpers/ledger';

const fx = useLedgerFixture();

async function dump(pattern: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await fx.redis.keys(pattern)).sort()) {
    const type = await fx.redis.type(key);
    out[key] =
      type === 'hash'
        ? await fx.redis.hgetall(key)
        : type === 'zset'
          ? await fx.redis.zrange(key, 0, -1, 'WITHSCORES')
          : type === 'set'
            ? (await fx.redis.smembers(key)).sort()
            : type === 'stream'
              ? await fx.redis.xrange(key, '-', '+')
              : await fx.redis.get(key);
  }
  return out;
}

describe('dry-run claim', () => {
  test('says what would happen to each candidate and writes nothing', async () => {
    const src = freshSource();
    const [done, running] = [file('done.csv'), file('running.csv')];
    const first = await fx.ledger.claimBatch(src, [done, running], claimOptions());
    await fx.ledger.commit(src, 'done.csv', first.claims[0]!.token);
    const before = await dump(`ftpi:{${src}}*`);
    const dry = await fx.ledger.claimBatch(
      src,
      [done, running, file('new.csv'), file('capped.csv')],
      claimOptions({ pollRun: 'run-2', maxAcceptPerPoll: 1, dryRun: true }),
    );
    assert.deepEqual(await dump(`ftpi:{${src}}*`), before, 'ledger byte-identical');
    assert.deepEqual(
      dry.decisions?.map((d) => `${d.path}:${d.decision}:${d.reason}`),
      ['done.csv:skip:done', 'running.csv:skip:in-flight', 'new.csv:claim:new', 'capped.csv:skip:cap'],
    );
    assert.equal(dry.claims.length, 1);
    assert.equal(dry.claims[0]?.token, 0, 'no token is issued in a dry run');
  });
});

describe('deadlines', () => {
  test('a claim, a renewal, a release and a commit keep the due set equal to the unfinished records', async () => {
    const src = freshSource();
    const due = async () => fx.redis.zrange(`ftpi:{${src}}:due`, 0, -1);
    const { claims } = await fx.ledger.claimBatch(src, [file('a'), file('b'), file('c')], claimOptions());
    assert.deepEqual((await due()).sort(), ['a', 'b', 'c']);
    const [a, b, c] = claims;
    await fx.ledger.commit(src, 'a', a!.token);
    await fx.ledger.release(src, 'b', b!.token, 'boom', { retryDelayMs: 60_000, maxTries: 3 });
    await fx.ledger.reject(src, 'c', c!.token, 'bad');
    assert.deepEqual(await due(), ['b'], 'only the retry waits');
    const score = Number(await fx.redis.zscore(`ftpi:{${src}}:due`, 'b'));
    assert.equal(score, (await fx.ledger.get(src, 'b'))?.retryAt);
  });

  test('an unfinished file missing from the listing ends REJECTED as vanished after vanishAfter', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('gone.csv')], claimOptions({ leaseMs: 100 }));
    assert.equal(claims.length, 1);
    await sleep(150);
    assert.deepEqual(await fx.ledger.duePaths(src, 10), ['gone.csv'], 'the lease ended: due');
    const first = await fx.ledger.vanish(src, ['gone.csv'], 300);
    assert.deepEqual(first, { vanished: [], waiting: 1 });
    assert.deepEqual(await fx.ledger.duePaths(src, 10), [], 'due again when the clock runs out');
    await sleep(350);
    assert.deepEqual(await fx.ledger.duePaths(src, 10), ['gone.csv']);
    const second = await fx.ledger.vanish(src, ['gone.csv'], 300);
    assert.deepEqual(second.vanished, ['gone.csv']);
    const record = await fx.ledger.get(src, 'gone.csv');
    assert.equal(record?.status, 'REJECTED');
    assert.match(record?.error ?? '', /^vanished: /);
    assert.equal((await fx.ledger.deadLetters(src)).length, 1);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
    assert.deepEqual(await fx.ledger.duePaths(src, 10), []);
  });

  test('a file listed again stops its vanish clock', async () => {
    const src = freshSource();
    await fx.ledger.claimBatch(src, [file('back.csv')], claimOptions({ leaseMs: 100 }));
    await sleep(150);
    await fx.ledger.vanish(src, ['back.csv'], 200);
    assert.ok((await fx.ledger.get(src, 'back.csv'))?.missingSince);
    const again = await fx.ledger.claimBatch(src, [file('back.csv')], claimOptions({ pollRun: 'run-2' }));
    assert.equal(again.claims.length, 1, 'taken again');
    assert.equal((await fx.ledger.get(src, 'back.csv'))?.missingSince, undefined);
  });

  test('an owed remote action: taken by one poll at a time, finished once, dropped when the file is gone', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('a'), file('b')], claimOptions());
    const [a, b] = claims;
    await fx.ledger.commit(src, 'a', a!.token, undefined, { actionGraceMs: 1_000 });
    await fx.ledger.commit(src, 'b', b!.token, undefined, { actionGraceMs: 1_000 });
    assert.equal((await fx.ledger.get(src, 'a'))?.action, 'pending');
    assert.equal(await fx.ledger.takeAction(src, 'a', a!.version, 60_000), false, 'not due yet');
    await sleep(1_100);
    assert.deepEqual((await fx.ledger.duePaths(src, 10)).sort(), ['a', 'b']);
    assert.equal(await fx.ledger.takeAction(src, 'a', a!.version, 60_000), true);
    assert.equal(await fx.ledger.takeAction(src, 'a', a!.version, 60_000), false, 'taken: one poll at a time');
    assert.equal(await fx.ledger.actionDone(src, 'a', 'other-version', 'deleted'), false, 'fenced by version');
    assert.equal(await fx.ledger.actionDone(src, 'a', a!.version, 'deleted'), true);
    assert.equal(await fx.ledger.actionDone(src, 'a', a!.version, 'deleted'), false, 'once');
    assert.equal((await fx.ledger.get(src, 'a'))?.action, 'deleted');
    await fx.ledger.vanish(src, ['b'], 60_000);
    assert.match((await fx.ledger.get(src, 'b'))?.action ?? '', /^gone/);
    assert.deepEqual(await fx.ledger.duePaths(src, 10), []);
    assert.equal(await fx.ledger.commits(src), 2);
  });

  test('runs that never end count as crashes: at maxCrashes of a step in a row the attempt is a crash loop', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('poison')], claimOptions());
    const token = claims[0]!.token;
    const opts = { step: 'process', leaseMs: 60_000, maxCrashes: 2 } as const;
    const ok = await fx.ledger.beginRun(src, 'poison', token, opts);
    assert.ok(ok.ok && ok.crashes === 0);
    await fx.ledger.endRun(src, 'poison', token, 'process'); // a run that reported its error
    assert.ok((await fx.ledger.beginRun(src, 'poison', token, opts)).ok); // then dies
    const afterOne = await fx.ledger.beginRun(src, 'poison', token, opts); // and dies again
    assert.ok(afterOne.ok && afterOne.crashes === 1);
    const refused = await fx.ledger.beginRun(src, 'poison', token, opts);
    assert.deepEqual(refused.ok ? undefined : refused.reason, 'crash-loop');
    const stale = await fx.ledger.beginRun(src, 'poison', token + 1000, opts);
    assert.equal(stale.ok ? undefined : stale.reason, 'superseded');
  });

  test('a run that ends starts its step count again; the steps count apart', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('a')], claimOptions());
    const token = claims[0]!.token;
    const run = (step: 'download' | 'process') =>
      fx.ledger.beginRun(src, 'a', token, { step, leaseMs: 60_000, maxCrashes: 3 });
    // A healthy file whose workers are killed now and then: two process runs die, a third ends.
    assert.ok((await run('process')).ok);
    assert.ok((await run('process')).ok);
    const third = await run('process');
    assert.ok(third.ok && third.crashes === 2);
    await fx.ledger.endRun(src, 'a', token, 'process');
    assert.ok((await run('process')).ok);
    const afterEnd = await run('process');
    assert.ok(afterEnd.ok && afterEnd.crashes === 1, 'only the runs since the last end count');
    // The small-file fast path downloads again (and ends that run) before each process run: that does not
    // hide a process step that kills its worker.
    for (let i = 0; i < 2; i++) {
      assert.ok((await run('download')).ok);
      await fx.ledger.endRun(src, 'a', token, 'download');
    }
    assert.ok((await run('process')).ok);
    const refused = await run('process');
    assert.equal(refused.ok ? undefined : refused.reason, 'crash-loop');
    assert.deepEqual(await fx.ledger.runsInRow(src, 'a', token), { download: 0, process: 3 });
    // Beside the record, not in it: the scripts of an earlier release unpack records by their own field list.
    const packed = await fx.redis.hget(sourceKeys(DEFAULT_PREFIX, src).records, 'a');
    assert.equal(packed?.split('|').length, 17, packed ?? '');
    // A new attempt starts clean: the counts are the attempt's (its token's).
    assert.deepEqual(await fx.ledger.runsInRow(src, 'a', token + 1), { download: 0, process: 0 });
  });
});

describe('retention', () => {
  test('a finished record of a file gone from the server is forgotten after forgetAfter; a listed one never', async () => {
    const src = freshSource();
    const { claims } = await fx.ledger.claimBatch(src, [file('gone'), file('kept'), file('young')], claimOptions());
    for (const claim of claims.slice(0, 2)) await fx.ledger.commit(src, claim.path, claim.token);
    await sleep(250);
    await fx.ledger.commit(src, 'young', claims[2]!.token);
    const candidates = await fx.ledger.finishedBefore(src, 200, 10);
    assert.deepEqual(candidates.sort(), ['gone', 'kept'], 'young finished too recently');
    // The poll listed `kept` (still on the server): only `gone` may go.
    assert.equal(await fx.ledger.forget(src, ['gone'], 200), 1);
    assert.equal(await fx.ledger.get(src, 'gone'), undefined);
    assert.equal((await fx.ledger.get(src, 'kept'))?.status, 'DONE');
    assert.equal(await fx.ledger.forget(src, ['young'], 200), 0, 'not yet');
    const size = await fx.ledger.size(src);
    assert.deepEqual([size.records, size.finished, size.unfinished], [2, 2, 0]);
    assert.ok(size.bytesPerRecord > 0);
    const again = await fx.ledger.claimBatch(src, [file('kept', 1_700_000_000_001)], claimOptions({ pollRun: 'r2' }));
    assert.equal(again.claims.length, 1, 'a new version is claimed: no longer finished');
    assert.deepEqual(await fx.ledger.finishedBefore(src, 0, 10), ['young']);
  });
});
