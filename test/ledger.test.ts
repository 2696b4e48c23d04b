// The claim rules of DESIGN.md §4, one per test, against a real Redis: each asserts the ledger's state after.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Candidate, Claim, ClaimBatchOptions } from '../src/ledger';
import { fileVersion, fileWorkflowId } from '../src/shared/ids';
import { claimOptions, file, freshSource, serverNow, sleep, useLedgerFixture } from './helpers/ledger';

const fx = useLedgerFixture();

const RETRY_NOW = { retryDelayMs: 0, maxTries: 3 };

/** Claims one candidate and returns the claim (fails when the rules gave none). */
async function claimOne(src: string, path: string, overrides: Partial<ClaimBatchOptions> = {}, mtimeMs?: number) {
  const result = await fx.ledger.claimBatch(src, [file(path, mtimeMs)], claimOptions(overrides));
  assert.equal(result.claims.length, 1, `expected a claim, got ${JSON.stringify(result)}`);
  return result.claims[0] as Claim;
}

/** The attempt begins a run (a download or process step started): from now on its lapse costs a try. */
async function beginRun(src: string, claim: Claim): Promise<void> {
  assert.ok(
    (await fx.ledger.beginRun(src, claim.path, claim.token, { step: 'download', leaseMs: 150, maxCrashes: 5 })).ok,
  );
}

/** Lists the paths again in a later poll run: [path, tries] of what it claims. */
async function claimAgain(src: string, paths: string[]): Promise<[string, number][]> {
  const again = await fx.ledger.claimBatch(
    src,
    paths.map((path) => file(path)),
    claimOptions({ pollRun: 'run-2' }),
  );
  return again.claims.map((c) => [c.path, c.tries]);
}

async function skipReason(src: string, path: string, overrides: Partial<ClaimBatchOptions> = {}, mtimeMs?: number) {
  const result = await fx.ledger.claimBatch(src, [file(path, mtimeMs)], claimOptions(overrides));
  assert.deepEqual(result.claims, []);
  return result.skipped;
}

async function tokenCounter(src: string): Promise<number> {
  return Number(await fx.redis.get(fx.ledger.keys(src)[0] ?? ''));
}

test('a long path gets a short workflow id: its start and a digest of it (SQL stores keep 255 characters)', () => {
  const dir = 'd'.repeat(150);
  const long = `${dir}/é-${'x'.repeat(100)}.csv`;
  const id = fileWorkflowId('s', long, '1-2', 12);
  assert.ok(Buffer.byteLength(`${id}/process`) <= 255, `${Buffer.byteLength(id)} bytes: ${id}`);
  assert.match(id, new RegExp(`^ftp/s/${dir.slice(0, 100)}.*~[0-9a-f]{28}@1-2#12$`));
  assert.equal(fileWorkflowId('s', long, '1-2', 12), id, 'the same in every call');
  assert.notEqual(fileWorkflowId('s', `${long}x`, '1-2', 12), id, 'another path, another id');
  assert.equal(fileWorkflowId('s', 'in/short.csv', '1-2', 1), 'ftp/s/in/short.csv@1-2#1', 'short ids read as before');
});

test('a workflow id escapes only what would make it ambiguous or unreadable', () => {
  assert.equal(fileWorkflowId('s', 'in/plain.csv', '1-2', 1), 'ftp/s/in/plain.csv@1-2#1');
  assert.equal(fileWorkflowId('s#1', '/a@b/%c\u0001.csv', '1-2', 3), 'ftp/s%231/a%40b/%25c%01.csv@1-2#3');
});

describe('claimBatch', () => {
  test('a new file becomes IN_PROGRESS with tries 1, a fresh token and a lease in server time', async () => {
    const src = freshSource();
    const before = await serverNow(fx.redis);
    const claim = await claimOne(src, 'in/a.csv', { leaseMs: 5_000 });
    const version = fileVersion(1_700_000_000_000, 100);

    assert.deepEqual(
      { ...claim, leaseUntil: 0 },
      {
        sourceId: src,
        path: 'in/a.csv',
        version,
        mtimeMs: 1_700_000_000_000,
        size: 100,
        token: 1,
        owner: 'A',
        tries: 1,
        attempt: 1,
        workflowId: fileWorkflowId(src, 'in/a.csv', version, 1),
        leaseUntil: 0,
      },
    );
    assert.ok(claim.leaseUntil >= before + 5_000 && claim.leaseUntil < before + 6_000);
    const record = await fx.ledger.get(src, 'in/a.csv');
    assert.equal(record?.status, 'IN_PROGRESS');
    assert.equal(record?.owner, 'A');
    assert.equal(record?.pollRun, 'run-1');
    assert.equal(record?.token, 1);
    assert.equal(record?.leaseUntil, claim.leaseUntil);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 1);
  });

  test('a retried listing (same cluster, same pollRun) gets the same claim back without a new token', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a');
    const again = await claimOne(src, 'a');
    assert.deepEqual(again, first);
    assert.equal(await tokenCounter(src), 1);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 1);
  });

  test('a claim of the same cluster from an earlier pollRun is skipped as in-flight', async () => {
    const src = freshSource();
    await claimOne(src, 'a', { pollRun: 'run-1' });
    const before = await fx.ledger.get(src, 'a');
    assert.deepEqual(await skipReason(src, 'a', { pollRun: 'run-2' }), { 'in-flight': 1 });
    assert.deepEqual(await fx.ledger.get(src, 'a'), before);
  });

  test("another cluster's live lease is skipped as leased", async () => {
    const src = freshSource();
    await claimOne(src, 'a', { clusterId: 'A' });
    const before = await fx.ledger.get(src, 'a');
    assert.deepEqual(await skipReason(src, 'a', { clusterId: 'B', pollRun: 'b-1' }), { leased: 1 });
    assert.deepEqual(await fx.ledger.get(src, 'a'), before);
    assert.equal(await fx.ledger.inFlight(src, 'B'), 0);
  });

  test('an expired lease is taken over by another cluster with a higher token and the next attempt', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a', { clusterId: 'A', leaseMs: 150 });
    await beginRun(src, first);
    await sleep(200);
    const second = await claimOne(src, 'a', { clusterId: 'B', pollRun: 'b-1' });

    assert.ok(second.token > first.token);
    assert.equal(second.tries, 2);
    assert.equal(second.workflowId, fileWorkflowId(src, 'a', first.version, 2));
    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.owner, 'B');
    assert.equal(record?.token, second.token);
    assert.equal(record?.error, 'lease expired');
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
    assert.equal(await fx.ledger.inFlight(src, 'B'), 1);
  });

  test('one batch of a retry, a new file and a same-run claim: each claim is its record, tokens in candidate order', async () => {
    const src = freshSource();
    const a = await claimOne(src, 'a');
    const c = await claimOne(src, 'c');
    assert.ok((await fx.ledger.release(src, 'a', a.token, 'boom', RETRY_NOW)).ok);
    // The same poll run lists a (retry due), b (new) and c (its own claim of this run) in one batch.
    const { claims } = await fx.ledger.claimBatch(src, [file('a'), file('b'), file('c')], claimOptions());
    assert.deepEqual(
      claims.map((claim) => [claim.path, claim.tries, claim.attempt]),
      [
        ['a', 2, 2],
        ['b', 1, 1],
        ['c', 1, 1],
      ],
    );
    const [retried, fresh, sameRun] = claims as [Claim, Claim, Claim];
    assert.ok(c.token < retried.token && retried.token < fresh.token, 'new tokens, issued in candidate order');
    assert.deepEqual([sameRun.token, sameRun.leaseUntil], [c.token, c.leaseUntil]);
    for (const claim of claims) {
      const record = await fx.ledger.get(src, claim.path);
      assert.deepEqual(
        [record?.token, record?.tries, record?.attempt, record?.leaseUntil, record?.workflowId],
        [claim.token, claim.tries, claim.attempt, claim.leaseUntil, claim.workflowId],
        claim.path,
      );
    }
  });

  test('a cluster takes over its own expired lease (also from the same pollRun), its in-flight count unchanged', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a', { leaseMs: 150 });
    await beginRun(src, first);
    await sleep(200);
    const second = await claimOne(src, 'a', { maxInFlight: 1 });
    assert.ok(second.token > first.token);
    assert.equal(second.tries, 2);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 1);
  });

  test('a lapsed attempt that never began a run is taken over with the same try, also at maxTries', async () => {
    const src = freshSource();
    const opts = { maxTries: 2, leaseMs: 100 };
    const first = await claimOne(src, 'a', opts);
    await beginRun(src, first);
    await sleep(200);
    // Tries 2 of 2: its workflow does not start (Temporal away), and the lease lapses twice.
    const second = await claimOne(src, 'a', { ...opts, pollRun: 'run-2' });
    await sleep(150);
    const third = await claimOne(src, 'a', { ...opts, pollRun: 'run-3', clusterId: 'B' });
    await sleep(150);
    const fourth = await claimOne(src, 'a', { ...opts, pollRun: 'run-4' });
    assert.deepEqual(
      [second, third, fourth].map((c) => [c.tries, c.attempt]),
      [
        [2, 2],
        [2, 3],
        [2, 4],
      ],
    );
    assert.ok(fourth.token > third.token && third.token > second.token, 'each attempt is fenced off the one before');
    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.error, 'lease expired', "the last try's error stays");
    assert.equal(await fx.ledger.inFlight(src, 'A'), 1);
    assert.equal(await fx.ledger.inFlight(src, 'B'), 0);
    // Once that attempt begins a run, its lapse is a try: at maxTries, REJECTED.
    await beginRun(src, fourth);
    await sleep(200);
    const fifth = await fx.ledger.claimBatch(src, [file('a')], claimOptions({ ...opts, pollRun: 'run-5' }));
    assert.deepEqual(fifth.claims, []);
    assert.equal(fifth.rejected.length, 1);
  });

  test('RETRY_WAIT is skipped until retryAt, then claimed with tries + 1', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a');
    const released = await fx.ledger.release(src, 'a', first.token, 'timeout', { retryDelayMs: 300, maxTries: 3 });
    assert.equal(released.ok && released.status, 'RETRY_WAIT');
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);

    assert.deepEqual(await skipReason(src, 'a', { pollRun: 'run-2' }), { 'retry-wait': 1 });
    await sleep(350);
    const second = await claimOne(src, 'a', { pollRun: 'run-3' });
    assert.equal(second.tries, 2);
    assert.ok(second.token > first.token);
    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.status, 'IN_PROGRESS');
    assert.equal(record?.retryAt, undefined);
    assert.equal(record?.error, 'timeout', 'the last error stays visible during the next attempt');
  });

  test('maxTries reached on takeover of an expired lease: REJECTED with exactly one dead letter', async () => {
    const src = freshSource();
    const opts = { maxTries: 2, leaseMs: 100 };
    await beginRun(src, await claimOne(src, 'a', opts));
    await sleep(200);
    const second = await claimOne(src, 'a', { ...opts, pollRun: 'run-2' });
    assert.equal(second.tries, 2);
    await beginRun(src, second);
    await sleep(200);

    const third = await fx.ledger.claimBatch(src, [file('a')], claimOptions({ ...opts, pollRun: 'run-3' }));
    assert.deepEqual(third.claims, []);
    assert.deepEqual(third.rejected, [
      { path: 'a', version: second.version, tries: 2, error: 'max tries reached: lease expired' },
    ]);
    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.status, 'REJECTED');
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);

    assert.deepEqual(await skipReason(src, 'a', { ...opts, pollRun: 'run-4' }), { rejected: 1 });
    const letters = await fx.ledger.deadLetters(src);
    assert.equal(letters.length, 1);
    assert.deepEqual(
      { ...letters[0], id: '' },
      {
        id: '',
        path: 'a',
        version: second.version,
        tries: 2,
        error: 'max tries reached: lease expired',
        owner: 'A',
        workflowId: second.workflowId,
      },
    );
  });

  test('maxTries reached on release: REJECTED with exactly one dead letter, a repeated release changes nothing', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a', { maxTries: 2 });
    await fx.ledger.release(src, 'a', first.token, 'boom 1', { retryDelayMs: 0, maxTries: 2 });
    const second = await claimOne(src, 'a', { maxTries: 2, pollRun: 'run-2' });
    assert.equal(second.tries, 2);

    const released = await fx.ledger.release(src, 'a', second.token, 'boom 2', { retryDelayMs: 0, maxTries: 2 });
    assert.equal(released.ok && released.status, 'REJECTED');
    const again = await fx.ledger.release(src, 'a', second.token, 'boom 2', { retryDelayMs: 0, maxTries: 2 });
    assert.equal(again.ok && again.status, 'REJECTED');

    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.status, 'REJECTED');
    assert.equal(record?.error, 'boom 2');
    assert.equal((await fx.ledger.deadLetters(src)).length, 1);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
  });

  test('a due RETRY_WAIT at maxTries is rejected by the claim with the previous error', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a');
    await fx.ledger.release(src, 'a', first.token, 'disk full', { retryDelayMs: 0, maxTries: 3 });
    const result = await fx.ledger.claimBatch(src, [file('a')], claimOptions({ maxTries: 1, pollRun: 'run-2' }));
    assert.deepEqual(result.rejected, [
      { path: 'a', version: first.version, tries: 1, error: 'max tries reached: disk full' },
    ]);
    assert.equal((await fx.ledger.get(src, 'a'))?.status, 'REJECTED');
    assert.equal((await fx.ledger.deadLetters(src)).length, 1);
  });

  test('maxAcceptPerPoll bounds the claims of one call; the rest are skipped as cap', async () => {
    const src = freshSource();
    const files = ['a', 'b', 'c', 'd', 'e'].map((p) => file(p));
    const first = await fx.ledger.claimBatch(src, files, claimOptions({ maxAcceptPerPoll: 2 }));
    assert.deepEqual(
      first.claims.map((c) => c.path),
      ['a', 'b'],
    );
    assert.deepEqual(first.skipped, { cap: 3 });
    assert.equal(await tokenCounter(src), 2);

    const second = await fx.ledger.claimBatch(src, files, claimOptions({ maxAcceptPerPoll: 2, pollRun: 'run-2' }));
    assert.deepEqual(
      second.claims.map((c) => c.path),
      ['c', 'd'],
    );
    assert.deepEqual(second.skipped, { 'in-flight': 2, cap: 1 });
    assert.equal((await fx.ledger.counts(src)).IN_PROGRESS, 4);
  });

  test('maxInFlight bounds what a cluster holds, and a commit makes room again', async () => {
    const src = freshSource();
    const files = ['a', 'b', 'c', 'd'].map((p) => file(p));
    const first = await fx.ledger.claimBatch(src, files, claimOptions({ maxInFlight: 3 }));
    assert.equal(first.claims.length, 3);
    assert.deepEqual(first.skipped, { cap: 1 });
    assert.equal(await fx.ledger.inFlight(src, 'A'), 3);

    const full = await fx.ledger.claimBatch(src, files, claimOptions({ maxInFlight: 3, pollRun: 'run-2' }));
    assert.deepEqual(full.claims, []);
    assert.deepEqual(full.skipped, { 'in-flight': 3, cap: 1 });

    const other = await fx.ledger.claimBatch(src, files, claimOptions({ maxInFlight: 3, clusterId: 'B' }));
    assert.deepEqual(
      other.claims.map((c) => c.path),
      ['d'],
      'the cap is per cluster',
    );

    const committed = await fx.ledger.commit(src, 'a', first.claims[0]?.token ?? 0);
    assert.ok(committed.ok);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 2);
    const e = await fx.ledger.claimBatch(
      src,
      [...files, file('e')],
      claimOptions({ maxInFlight: 3, pollRun: 'run-3' }),
    );
    assert.deepEqual(
      e.claims.map((c) => c.path),
      ['e'],
    );
    assert.equal(await fx.ledger.inFlight(src, 'A'), 3);
  });

  test('a retried listing gets all its claims back first, even at the caps and in another order', async () => {
    const src = freshSource();
    const opts = claimOptions({ maxAcceptPerPoll: 2, maxInFlight: 2 });
    const first = await fx.ledger.claimBatch(src, [file('a'), file('b'), file('c')], opts);
    const retried = await fx.ledger.claimBatch(src, [file('x'), file('b'), file('a')], opts);
    assert.deepEqual(
      retried.claims.map((c) => [c.path, c.token]),
      [
        ['b', first.claims[1]?.token],
        ['a', first.claims[0]?.token],
      ],
    );
    assert.deepEqual(retried.skipped, { cap: 1 });
    assert.equal(await fx.ledger.inFlight(src, 'A'), 2);
  });

  test('a new version of a DONE file is claimable as a new unit of work; the same version is not', async () => {
    const src = freshSource();
    const old = await claimOne(src, 'a', {}, 1000);
    await fx.ledger.commit(src, 'a', old.token, '{"bytes":100}');
    assert.deepEqual(await skipReason(src, 'a', { pollRun: 'run-2' }, 1000), { done: 1 });

    const modified = await claimOne(src, 'a', { pollRun: 'run-3' }, 2000);
    assert.equal(modified.version, fileVersion(2000, 100));
    assert.equal(modified.tries, 1);
    assert.equal(modified.workflowId, fileWorkflowId(src, 'a', modified.version, 1));
    const record = await fx.ledger.get(src, 'a');
    assert.equal(record?.mtimeMs, 2000);
    assert.equal(record?.result, undefined);
    assert.equal(record?.doneAt, undefined);
  });

  test("versionPolicy 'ignore' never takes a DONE or REJECTED path again", async () => {
    const src = freshSource();
    const done = await claimOne(src, 'done', {}, 1000);
    await fx.ledger.commit(src, 'done', done.token);
    const bad = await claimOne(src, 'bad', {}, 1000);
    await fx.ledger.reject(src, 'bad', bad.token, 'corrupt');

    const later = claimOptions({ pollRun: 'run-2', versionPolicy: 'ignore' });
    const result = await fx.ledger.claimBatch(src, [file('done', 2000), file('bad', 2000)], later);
    assert.deepEqual(result.claims, []);
    assert.deepEqual(result.skipped, { done: 1, rejected: 1 });
    assert.equal((await fx.ledger.get(src, 'done'))?.version, fileVersion(1000, 100));
  });

  test('REJECTED of this version is skipped; a new version of it is claimed', async () => {
    const src = freshSource();
    const bad = await claimOne(src, 'a', {}, 1000);
    await fx.ledger.reject(src, 'a', bad.token, 'corrupt');
    assert.deepEqual(await skipReason(src, 'a', { pollRun: 'run-2' }, 1000), { rejected: 1 });
    const fixed = await claimOne(src, 'a', { pollRun: 'run-3' }, 2000);
    assert.equal(fixed.tries, 1);
    assert.equal((await fx.ledger.get(src, 'a'))?.error, undefined);
  });

  test('a new version of an IN_PROGRESS file waits for the lease, then starts over at tries 1', async () => {
    const src = freshSource();
    const old = await claimOne(src, 'a', { leaseMs: 150 }, 1000);
    assert.deepEqual(await skipReason(src, 'a', { pollRun: 'run-2' }, 2000), { 'in-flight': 1 });
    assert.deepEqual(await skipReason(src, 'a', { clusterId: 'B' }, 2000), { leased: 1 });
    await sleep(200);
    const fresh = await claimOne(src, 'a', { clusterId: 'B' }, 2000);
    assert.equal(fresh.tries, 1);
    assert.ok(fresh.token > old.token);
    assert.equal(fresh.version, fileVersion(2000, 100));
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
    assert.equal(await fx.ledger.inFlight(src, 'B'), 1);
  });

  test('a new version of a RETRY_WAIT file is claimed at once with tries 1', async () => {
    const src = freshSource();
    const old = await claimOne(src, 'a', {}, 1000);
    await fx.ledger.release(src, 'a', old.token, 'boom', { retryDelayMs: 60_000, maxTries: 3 });
    const fresh = await claimOne(src, 'a', { pollRun: 'run-2' }, 2000);
    assert.equal(fresh.tries, 1);
    assert.equal(fresh.version, fileVersion(2000, 100));
  });

  test('a listing that began before another version was claimed or finished does not take the file over', async () => {
    const src = freshSource();
    // Cluster B lists a@1000, then A claims and commits a@2000 (a rewrite) before B's claim of its listing.
    const newer = await claimOne(src, 'a', { clusterId: 'A' }, 2000);
    await fx.ledger.commit(src, 'a', newer.token, '{"bytes":100}');
    const stale = { clusterId: 'B', pollRun: 'b-1', listedAgoMs: 60_000 };
    assert.deepEqual(await skipReason(src, 'a', stale, 1000), { 'stale-listing': 1 });
    const record = await fx.ledger.get(src, 'a');
    assert.deepEqual([record?.status, record?.version], ['DONE', fileVersion(2000, 100)]);
    // Another version of an attempt claimed after the listing began: kept too, whatever its lease.
    const inFlight = await claimOne(src, 'b', { clusterId: 'A', leaseMs: 100 }, 2000);
    await sleep(150);
    assert.deepEqual(await skipReason(src, 'b', stale, 1000), { 'stale-listing': 1 });
    assert.equal((await fx.ledger.get(src, 'b'))?.token, inFlight.token);
    // A listing that began after the record changed sees the file as it is now: even an older time is a new version.
    await sleep(5);
    const relisted = await claimOne(src, 'a', { clusterId: 'B', pollRun: 'b-2', listedAgoMs: 0 }, 1000);
    assert.equal(relisted.version, fileVersion(1000, 100));
  });

  test('a path listed twice in one batch is claimed once', async () => {
    const src = freshSource();
    const result = await fx.ledger.claimBatch(src, [file('a'), file('a'), file('b')], claimOptions());
    assert.deepEqual(
      result.claims.map((c) => c.path),
      ['a', 'b'],
    );
    assert.deepEqual(result.skipped, { duplicate: 1 });
  });

  test('bad arguments are refused before they reach Redis', async () => {
    const src = freshSource();
    await assert.rejects(fx.ledger.claimBatch(src, [file('a')], claimOptions({ leaseMs: Number.NaN })), RangeError);
    await assert.rejects(fx.ledger.claimBatch(src, [file('a')], claimOptions({ clusterId: '' })), TypeError);
    await assert.rejects(fx.ledger.claimBatch('x}y', [file('a')], claimOptions()), /braces/);
    assert.equal(await fx.ledger.get(src, 'a'), undefined);
  });
});

describe('fencing', () => {
  test('renew extends the lease of the current token only', async () => {
    const src = freshSource();
    const claim = await claimOne(src, 'a', { leaseMs: 1_000 });
    const renewed = await fx.ledger.renew(src, 'a', claim.token, 10_000);
    assert.ok(renewed.ok && renewed.leaseUntil > claim.leaseUntil + 8_000);
    assert.equal((await fx.ledger.get(src, 'a'))?.leaseUntil, renewed.ok ? renewed.leaseUntil : -1);
    assert.deepEqual(await fx.ledger.renew(src, 'missing', 1, 1_000), { ok: false, reason: 'missing' });
  });

  test('a stale token can neither renew nor commit, and the record stays as it is', async () => {
    const src = freshSource();
    const stale = await claimOne(src, 'a', { leaseMs: 100 });
    await sleep(150);
    await claimOne(src, 'a', { clusterId: 'B' });
    const before = await fx.ledger.get(src, 'a');

    const renewed = await fx.ledger.renew(src, 'a', stale.token, 60_000);
    assert.deepEqual(renewed, { ok: false, reason: 'superseded', record: before });
    const committed = await fx.ledger.commit(src, 'a', stale.token, 'late');
    assert.deepEqual(committed, { ok: false, reason: 'superseded', record: before });
    const released = await fx.ledger.release(src, 'a', stale.token, 'late', RETRY_NOW);
    assert.equal(!released.ok && released.reason, 'superseded');
    const rejected = await fx.ledger.reject(src, 'a', stale.token, 'late');
    assert.equal(!rejected.ok && rejected.reason, 'superseded');

    assert.deepEqual(await fx.ledger.get(src, 'a'), before);
    assert.equal(await fx.ledger.inFlight(src, 'B'), 1);
    assert.equal((await fx.ledger.deadLetters(src)).length, 0);
  });

  test("a Redis that lost its last writes issues a token again: the other cluster's claim of it is told apart", async () => {
    const src = freshSource();
    const lost = await claimOne(src, 'a', { clusterId: 'A' });
    assert.equal(lost.owner, 'A');
    // The claim's writes are lost (a host crash before the AOF's fsync): no record, the counter back where it was.
    await fx.redis.hdel(fx.ledger.keys(src)[1]!, 'a');
    await fx.redis.decr(fx.ledger.keys(src)[0]!);
    const again = await claimOne(src, 'a', { clusterId: 'B', pollRun: 'b-1' });
    assert.equal(again.token, lost.token, 'the same token, issued again');
    const before = await fx.ledger.get(src, 'a');

    const renewed = await fx.ledger.renew(src, 'a', lost.token, 60_000, 'A');
    assert.equal(!renewed.ok && renewed.reason, 'superseded');
    const begun = await fx.ledger.beginRun(src, 'a', lost.token, {
      step: 'download',
      leaseMs: 60_000,
      maxCrashes: 5,
      owner: 'A',
    });
    assert.equal(!begun.ok && begun.reason, 'superseded');
    const committed = await fx.ledger.commit(src, 'a', lost.token, 'twice', { owner: 'A' });
    assert.equal(!committed.ok && committed.reason, 'superseded');
    const released = await fx.ledger.release(src, 'a', lost.token, 'x', { ...RETRY_NOW, owner: 'A' });
    assert.equal(!released.ok && released.reason, 'superseded');
    const rejected = await fx.ledger.reject(src, 'a', lost.token, 'x', 'A');
    assert.equal(!rejected.ok && rejected.reason, 'superseded');
    assert.deepEqual(await fx.ledger.get(src, 'a'), before);
    // B's own calls pass, and so does a repeat of its commit.
    assert.ok((await fx.ledger.commit(src, 'a', again.token, '{}', { owner: 'B' })).ok);
    const repeat = await fx.ledger.commit(src, 'a', again.token, '{}', { owner: 'B' });
    assert.ok(repeat.ok && repeat.alreadyCommitted);
  });

  test("renewRunning extends only this cluster's current attempts; an expired one is then not retaken", async () => {
    const src = freshSource();
    const a = await claimOne(src, 'a', { leaseMs: 300 });
    const b = await claimOne(src, 'b', { leaseMs: 300 });
    const other = await claimOne(src, 'c', { leaseMs: 300, clusterId: 'B' });
    // b's and c's attempts have begun a run: only a running workflow of that attempt keeps it now.
    await beginRun(src, b);
    await beginRun(src, other);
    const running = [
      { path: 'a', workflowId: a.workflowId },
      { path: 'b', workflowId: `${b.workflowId}-an-older-attempt` },
      { path: 'c', workflowId: other.workflowId },
    ];
    assert.equal(await fx.ledger.renewRunning(src, 'A', running, 60_000), 1);
    await sleep(400);
    assert.deepEqual(
      await claimAgain(src, ['a', 'b', 'c']),
      [
        ['b', 2],
        ['c', 2],
      ],
      'a kept its lease; b and c expired and were taken over',
    );
    assert.equal((await fx.ledger.get(src, 'a'))?.token, a.token);
  });

  test("renewRunning keeps this cluster's claims that have not begun a run, for START_GRACE_LEASES leases", async () => {
    const src = freshSource();
    const stale = await claimOne(src, 'stale', { leaseMs: 4_000 });
    await sleep(3_200);
    const young = await claimOne(src, 'young', { leaseMs: 4_000 });
    const ran = await claimOne(src, 'ran', { leaseMs: 4_000 });
    const other = await claimOne(src, 'other', { leaseMs: 4_000, clusterId: 'B' });
    assert.ok(
      (await fx.ledger.beginRun(src, 'ran', ran.token, { step: 'download', leaseMs: 4_000, maxCrashes: 5 })).ok,
    );
    const leaseOf = async (path: string) => Number((await fx.ledger.get(src, path))?.leaseUntil);
    const before = { young: await leaseOf('young'), ran: await leaseOf('ran'), other: await leaseOf('other') };
    // A lease of 1 s gives a grace of 3 s: 'stale' (claimed 3.2 s ago, its lease ending within that second) is
    // past it and left to run out; the other leases end later than a renewal would make them, so stay as they are.
    assert.equal(await fx.ledger.renewRunning(src, 'A', [], 1_000), 0);
    assert.equal(await leaseOf('stale'), stale.leaseUntil, 'past the grace: the lease is left to run out');
    // A lease of 6 s gives 18 s: the claims without a run are renewed, the one that ran and B's are not.
    assert.equal(await fx.ledger.renewRunning(src, 'A', [], 6_000), 2);
    assert.ok((await leaseOf('stale')) > stale.leaseUntil, 'no run yet, within the grace: renewed');
    assert.ok((await leaseOf('young')) > before.young, 'no run yet, within the grace: renewed');
    assert.equal(await leaseOf('ran'), before.ran, 'an attempt that began a run is kept only by its running workflow');
    assert.equal(await leaseOf('other'), before.other, "another cluster's claim is never renewed");
    assert.equal((await fx.ledger.get(src, 'young'))?.token, young.token);
    assert.equal((await fx.ledger.get(src, 'other'))?.token, other.token);
  });

  test("renewRunning takes back this cluster's lapsed claims without a run, within the grace; a claim then keeps them", async () => {
    const src = freshSource();
    // Temporal was away longer than the lease: nothing renewed these claims, and no workflow of theirs runs yet.
    const waiting = await claimOne(src, 'waiting', { leaseMs: 300 });
    const ran = await claimOne(src, 'ran', { leaseMs: 300 });
    const other = await claimOne(src, 'other', { leaseMs: 300, clusterId: 'B' });
    await beginRun(src, ran);
    await sleep(800);
    // A lease of 1 s gives a grace of 3 s from the claim: 'waiting' lapsed 0.5 s ago and is still within it.
    assert.equal(await fx.ledger.renewRunning(src, 'A', [], 1_000), 1);
    assert.deepEqual(
      await claimAgain(src, ['waiting', 'ran', 'other']),
      [
        ['ran', 2],
        ['other', 1],
      ],
      'the lapsed claim without a run was kept; the one that ran and the other cluster’s were taken over',
    );
    assert.equal((await fx.ledger.get(src, 'waiting'))?.token, waiting.token);
    assert.notEqual((await fx.ledger.get(src, 'other'))?.token, other.token);
  });

  test('renewRunning leaves a lapsed claim without a run past the grace to be taken over', async () => {
    const src = freshSource();
    const late = await claimOne(src, 'late', { leaseMs: 300 });
    await sleep(1_200);
    // A lease of 300 ms gives a grace of 900 ms: the claim is older.
    assert.equal(await fx.ledger.renewRunning(src, 'A', [], 300), 0);
    const again = await claimOne(src, 'late', { pollRun: 'run-2' });
    assert.deepEqual([again.tries, again.attempt], [1, 2], 'a new attempt; no try spent, as none ran');
    assert.ok(again.token > late.token);
  });

  test('commit is idempotent for the same token: in-flight and the commit count change once', async () => {
    const src = freshSource();
    const claim = await claimOne(src, 'a');
    const first = await fx.ledger.commit(src, 'a', claim.token, '{"lines":3}');
    assert.ok(first.ok && !first.alreadyCommitted);
    assert.equal(first.record.status, 'DONE');
    assert.equal(first.record.result, '{"lines":3}');
    assert.ok((first.record.doneAt ?? 0) > 0);

    const again = await fx.ledger.commit(src, 'a', claim.token, '{"lines":3}');
    assert.ok(again.ok && again.alreadyCommitted);
    assert.deepEqual(again.record, first.record);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
    assert.equal(await fx.ledger.commits(src), 1);
    assert.equal((await fx.ledger.renew(src, 'a', claim.token, 1_000)).ok, false, 'a DONE record has no lease');
  });

  test('a released claim can no longer commit; the release itself is idempotent', async () => {
    const src = freshSource();
    const claim = await claimOne(src, 'a');
    const released = await fx.ledger.release(src, 'a', claim.token, 'boom', { retryDelayMs: 60_000, maxTries: 3 });
    const again = await fx.ledger.release(src, 'a', claim.token, 'boom', { retryDelayMs: 60_000, maxTries: 3 });
    assert.ok(released.ok && again.ok);
    assert.deepEqual(again.record, released.record);
    const committed = await fx.ledger.commit(src, 'a', claim.token);
    assert.equal(!committed.ok && committed.reason, 'not-in-progress');
    assert.equal((await fx.ledger.get(src, 'a'))?.status, 'RETRY_WAIT');
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
  });

  test('reject is fenced, dead-letters once and is idempotent', async () => {
    const src = freshSource();
    const claim = await claimOne(src, 'a');
    const first = await fx.ledger.reject(src, 'a', claim.token, 'processor: bad header');
    const again = await fx.ledger.reject(src, 'a', claim.token, 'processor: bad header');
    assert.ok(first.ok && again.ok);
    assert.equal(first.status, 'REJECTED');
    assert.equal(first.record.error, 'processor: bad header');
    assert.equal((await fx.ledger.deadLetters(src)).length, 1);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
  });
});

describe('unsafe names and operator actions', () => {
  test('rejectUnsafe records REJECTED with tries 0 and one dead letter per version', async () => {
    const src = freshSource();
    const version = fileVersion(1000, 5);
    const before = await serverNow(fx.redis);
    const first = await fx.ledger.rejectUnsafe(src, '../etc/passwd', version, 'unsafe-name: parent directory');
    const again = await fx.ledger.rejectUnsafe(src, '../etc/passwd', version, 'unsafe-name: parent directory');
    assert.equal(first.recorded, true);
    assert.equal(again.recorded, false);
    const { rejectedAt, ...rest } = first.record;
    assert.deepEqual(rest, {
      sourceId: src,
      path: '../etc/passwd',
      version,
      status: 'REJECTED',
      tries: 0,
      mtimeMs: 1000,
      size: 5,
      error: 'unsafe-name: parent directory',
    });
    assert.ok(rejectedAt !== undefined && rejectedAt >= before, 'when it was rejected, for retention');
    assert.deepEqual(again.record, first.record);
    const letters = await fx.ledger.deadLetters(src);
    assert.deepEqual(
      letters.map((l) => [l.path, l.tries, l.error]),
      [['../etc/passwd', 0, 'unsafe-name: parent directory']],
    );

    const modified = await fx.ledger.rejectUnsafe(
      src,
      '../etc/passwd',
      fileVersion(2000, 5),
      'unsafe-name: parent directory',
    );
    assert.equal(modified.recorded, true);
    assert.equal((await fx.ledger.deadLetters(src)).length, 2);
  });

  test('retryRejected gives a REJECTED file a full budget; its next attempt gets a new workflow id', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a', { maxTries: 1 });
    await fx.ledger.release(src, 'a', first.token, 'boom', { retryDelayMs: 0, maxTries: 1 });
    assert.equal((await fx.ledger.get(src, 'a'))?.status, 'REJECTED');

    const retried = await fx.ledger.retryRejected(src, 'a');
    assert.ok(retried.ok);
    assert.equal(retried.record.status, 'RETRY_WAIT');
    assert.equal(retried.record.tries, 0);
    assert.ok((retried.record.retryAt ?? Infinity) <= (await serverNow(fx.redis)));

    const next = await claimOne(src, 'a', { maxTries: 1, pollRun: 'run-2' });
    assert.equal(next.tries, 1);
    assert.equal(next.attempt, 2);
    assert.equal(next.workflowId, fileWorkflowId(src, 'a', first.version, 2), 'never reuses #1');

    assert.deepEqual(await fx.ledger.retryRejected(src, 'a'), {
      ok: false,
      reason: 'not-rejected',
      record: await fx.ledger.get(src, 'a'),
    });
    assert.deepEqual(await fx.ledger.retryRejected(src, 'nothing'), { ok: false, reason: 'missing' });
  });

  test('reprocess runs a DONE version again under a new attempt; unfinished records are refused', async () => {
    const src = freshSource();
    const first = await claimOne(src, 'a');
    await fx.ledger.commit(src, 'a', first.token, 'r1');

    const reprocessed = await fx.ledger.reprocess(src, 'a');
    assert.ok(reprocessed.ok);
    assert.equal(reprocessed.record.status, 'RETRY_WAIT');
    assert.equal(reprocessed.record.result, undefined);
    assert.equal(reprocessed.record.doneAt, undefined);

    const again = await claimOne(src, 'a', { pollRun: 'run-2' });
    assert.equal(again.version, first.version);
    assert.equal(again.tries, 1);
    assert.equal(again.workflowId, fileWorkflowId(src, 'a', first.version, 2));
    assert.ok(again.token > first.token);
    const refused = await fx.ledger.reprocess(src, 'a');
    assert.equal(!refused.ok && refused.reason, 'not-finished');
  });
});

describe('listing helpers', () => {
  test('observeVersions reports a path stable once its version has not changed for stableMs', async () => {
    const src = freshSource();
    const stableMs = 300;
    const observe = (files: Candidate[]) => fx.ledger.observeVersions(src, files, stableMs);
    assert.deepEqual(await observe([file('a', 1000, 10), file('b', 1000, 10)]), new Set());
    // Listings moments apart (two clusters) are not "two polls": the version must hold for stableMs.
    assert.deepEqual(await observe([file('a', 1000, 10), file('b', 1000, 10)]), new Set());
    await sleep(stableMs + 50);
    const second = await observe([file('a', 1000, 10), file('b', 1000, 20)]);
    assert.deepEqual(second, new Set(['a']), 'b grew: still uploading');
    assert.deepEqual(await observe([file('b', 1000, 20)]), new Set(), 'b seen at this size only just now');
    await sleep(stableMs + 50);
    assert.deepEqual(await observe([file('b', 1000, 20)]), new Set(['b']));
    assert.deepEqual(await observe([]), new Set());
  });

  test('unfinished lists the paths that still have work to do, per version policy', async () => {
    const src = freshSource();
    const files = ['done', 'rejected', 'running', 'waiting'].map((p) => file(p, 1000));
    const { claims } = await fx.ledger.claimBatch(src, files, claimOptions());
    const token = (path: string): number => claims.find((c) => c.path === path)?.token ?? 0;
    await fx.ledger.commit(src, 'done', token('done'));
    await fx.ledger.reject(src, 'rejected', token('rejected'), 'bad');
    await fx.ledger.release(src, 'waiting', token('waiting'), 'later', RETRY_NOW);

    const listed = [...files, file('new', 1000)];
    assert.deepEqual(await fx.ledger.unfinished(src, listed), new Set(['running', 'waiting', 'new']));
    const modified = [file('done', 2000), file('rejected', 2000)];
    assert.deepEqual(await fx.ledger.unfinished(src, modified), new Set(['done', 'rejected']));
    assert.deepEqual(await fx.ledger.unfinished(src, modified, 'ignore'), new Set());
  });
});

describe('reading', () => {
  test('list pages through every record (filtered by status) and counts totals per status', async () => {
    const src = freshSource();
    const names = Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(2, '0')}`);
    const { claims } = await fx.ledger.claimBatch(
      src,
      names.map((n) => file(n)),
      claimOptions(),
    );
    for (const claim of claims.slice(0, 10)) await fx.ledger.commit(src, claim.path, claim.token);
    for (const claim of claims.slice(10, 13)) await fx.ledger.reject(src, claim.path, claim.token, 'bad');
    for (const claim of claims.slice(13, 15)) await fx.ledger.release(src, claim.path, claim.token, 'later', RETRY_NOW);

    assert.deepEqual(await fx.ledger.counts(src), { IN_PROGRESS: 10, DONE: 10, REJECTED: 3, RETRY_WAIT: 2 });

    const seen: string[] = [];
    let cursor = '0';
    do {
      const page = await fx.ledger.list(src, { status: 'DONE', cursor, count: 4 });
      assert.ok(page.records.every((r) => r.status === 'DONE' && r.sourceId === src));
      seen.push(...page.records.map((r) => r.path));
      cursor = page.cursor;
    } while (cursor !== '0');
    assert.deepEqual(seen.sort(), names.slice(0, 10));
  });

  test('an unknown source reads as empty', async () => {
    const src = freshSource();
    assert.deepEqual(await fx.ledger.counts(src), { IN_PROGRESS: 0, DONE: 0, REJECTED: 0, RETRY_WAIT: 0 });
    assert.deepEqual(await fx.ledger.list(src), { records: [], cursor: '0' });
    assert.deepEqual(await fx.ledger.deadLetters(src), []);
    assert.equal(await fx.ledger.inFlight(src, 'A'), 0);
    assert.deepEqual(await fx.ledger.claimBatch(src, [], claimOptions()), { claims: [], skipped: {}, rejected: [] });
  });
});
