// Two clusters, eight connections, the same 1,000 files claimed round after round while claims are committed,
// released, rejected and left to expire: the ledger must never give one file to two owners or one token twice.
import assert from 'node:assert/strict';
import { fileWorkflowIdBase } from '../src/shared/ids';
import { test } from 'node:test';
import { Ledger, type Candidate, type Claim, type ClaimBatchOptions } from '../src/ledger';
import { file, sleep, useLedgerFixture } from './helpers/ledger';

const fx = useLedgerFixture();

const SOURCE = 'race';
const FILES = 1_000;
const ROUNDS = 5;
const CONNECTIONS_PER_CLUSTER = 4;
const CLUSTERS = ['east', 'west'];
const LEASE_MS = 1_500;
const MAX_TRIES = 4;
const LIMITS = { leaseMs: LEASE_MS, maxTries: MAX_TRIES, maxAcceptPerPoll: 300, maxInFlight: 400 } as const;

/** Small seeded PRNG (mulberry32): the same interleaving choices on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], rand: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

interface Worker {
  cluster: string;
  ledger: Ledger;
}

interface Figures {
  calls: number;
  claimsReturned: number;
  retakes: number;
  commits: number;
  releases: number;
  rejects: number;
  abandoned: number;
  /** By a claim (expired lease or due retry) or by a release, at maxTries. */
  rejectedByMaxTries: number;
  claimMs: number[];
}

const options = (cluster: string, round: number): ClaimBatchOptions => ({
  clusterId: cluster,
  // The connections of one cluster share the poll run: like a listing activity retried while it still runs.
  pollRun: `${cluster}-${round}`,
  versionPolicy: 'reprocess',
  attemptLabelBase: fileWorkflowIdBase,
  ...LIMITS,
});

/** Every connection claims the whole listing (in its own order) at the same time. */
async function claimRound(workers: Worker[], candidates: Candidate[], round: number, rand: () => number, f: Figures) {
  const started = performance.now();
  const results = await Promise.all(
    workers.map((w) => w.ledger.claimBatch(SOURCE, shuffled(candidates, rand), options(w.cluster, round))),
  );
  f.claimMs.push(performance.now() - started);
  f.calls += workers.length;
  return results.map((result, i) => {
    assert.ok(result.claims.length <= LIMITS.maxAcceptPerPoll);
    f.claimsReturned += result.claims.length;
    f.rejectedByMaxTries += result.rejected.length;
    return { cluster: workers[i]?.cluster ?? '', claims: result.claims };
  });
}

/** One owner and one token per file within a round; the ledger agrees; returns each file's claim once. */
function checkOneOwnerPerFile(returned: { cluster: string; claims: Claim[] }[], tokenPaths: Map<number, string>) {
  const byPath = new Map<string, { cluster: string; claim: Claim }>();
  for (const { cluster, claims } of returned) {
    for (const claim of claims) {
      const seen = byPath.get(claim.path);
      if (seen) {
        assert.equal(cluster, seen.cluster, `${claim.path} given to two clusters in one round`);
        assert.equal(claim.token, seen.claim.token, `${claim.path} given two tokens in one round`);
      }
      byPath.set(claim.path, { cluster, claim });
      const tokenPath = tokenPaths.get(claim.token);
      assert.ok(tokenPath === undefined || tokenPath === claim.path, `token ${claim.token} issued twice`);
      tokenPaths.set(claim.token, claim.path);
    }
  }
  return [...byPath.values()];
}

async function checkLedgerState(ledger: Ledger, held: { cluster: string; claim: Claim }[]) {
  const records = await ledger.list(SOURCE, { count: 10 * FILES });
  assert.equal(records.cursor, '0');
  const byPath = new Map(records.records.map((r) => [r.path, r]));
  for (const { cluster, claim } of held) {
    const record = byPath.get(claim.path);
    assert.deepEqual([record?.status, record?.owner, record?.token], ['IN_PROGRESS', cluster, claim.token]);
  }
  for (const cluster of CLUSTERS) {
    const actual = records.records.filter((r) => r.status === 'IN_PROGRESS' && r.owner === cluster).length;
    assert.equal(await ledger.inFlight(SOURCE, cluster), actual, `inflight counter of ${cluster}`);
    assert.ok(actual <= LIMITS.maxInFlight);
  }
}

/** Commits, releases, rejects or abandons each held claim, from a connection of its owner, all at once. */
async function actOnClaims(
  workers: Worker[],
  held: { cluster: string; claim: Claim }[],
  rand: () => number,
  f: Figures,
) {
  await Promise.all(
    held.map(async ({ cluster, claim }) => {
      const owners = workers.filter((w) => w.cluster === cluster);
      const ledger = (owners[Math.floor(rand() * owners.length)] ?? owners[0])?.ledger;
      assert.ok(ledger);
      const dice = rand();
      if (dice < 0.4) {
        const done = await ledger.commit(SOURCE, claim.path, claim.token, 'ok');
        assert.ok(done.ok && !done.alreadyCommitted, `commit of a current claim: ${JSON.stringify(done)}`);
        f.commits += 1;
      } else if (dice < 0.6) {
        const released = await ledger.release(SOURCE, claim.path, claim.token, 'flaky', {
          retryDelayMs: 0,
          maxTries: MAX_TRIES,
        });
        assert.ok(released.ok);
        f.releases += 1;
        if (released.status === 'REJECTED') f.rejectedByMaxTries += 1;
      } else if (dice < 0.65) {
        assert.ok((await ledger.reject(SOURCE, claim.path, claim.token, 'bad input')).ok);
        f.rejects += 1;
      } else {
        f.abandoned += 1; // its lease expires before the next round
      }
    }),
  );
}

test('concurrent claims by two clusters never share a file or a token', async (t) => {
  const started = performance.now();
  const workers: Worker[] = CLUSTERS.flatMap((cluster) =>
    Array.from({ length: CONNECTIONS_PER_CLUSTER }, () => ({ cluster, ledger: new Ledger(fx.connect()) })),
  );
  const candidates = Array.from({ length: FILES }, (_, i) => file(`in/f${String(i).padStart(4, '0')}.csv`));
  const rand = random(42);
  const f: Figures = {
    calls: 0,
    claimsReturned: 0,
    retakes: 0,
    commits: 0,
    releases: 0,
    rejects: 0,
    abandoned: 0,
    rejectedByMaxTries: 0,
    claimMs: [],
  };
  const tokenPaths = new Map<number, string>();
  const lastToken = new Map<string, number>();
  const superseded: { path: string; token: number }[] = [];

  for (let round = 1; round <= ROUNDS; round++) {
    const roundStart = performance.now();
    const held = checkOneOwnerPerFile(await claimRound(workers, candidates, round, rand, f), tokenPaths);
    // The one-owner check above relies on no lease expiring during the round.
    assert.ok(performance.now() - roundStart < LEASE_MS / 2, 'claim phase took too long for this test');
    for (const { claim } of held) {
      const previous = lastToken.get(claim.path);
      if (previous !== undefined) superseded.push({ path: claim.path, token: previous });
      if (claim.tries > 1) f.retakes += 1;
      lastToken.set(claim.path, claim.token);
    }
    await checkLedgerState(fx.ledger, held);
    await actOnClaims(workers, held, rand, f);
    await checkLedgerState(fx.ledger, []);
    await sleep(LEASE_MS + 100);
  }

  // Drain: claim and commit until nothing is left to claim.
  for (let round = ROUNDS + 1; ; round++) {
    const held = checkOneOwnerPerFile(await claimRound(workers, candidates, round, rand, f), tokenPaths);
    if (held.length === 0) break;
    for (const { path, token } of held.map((h) => h.claim)) {
      const previous = lastToken.get(path);
      if (previous !== undefined) superseded.push({ path, token: previous });
      lastToken.set(path, token);
    }
    await Promise.all(
      held.map(async ({ claim }) => assert.ok((await fx.ledger.commit(SOURCE, claim.path, claim.token)).ok)),
    );
    f.commits += held.length;
  }

  const counts = await fx.ledger.counts(SOURCE);
  assert.equal(counts.DONE + counts.REJECTED, FILES, `every file ends DONE or REJECTED: ${JSON.stringify(counts)}`);
  assert.equal(counts.DONE, f.commits, 'one successful commit per DONE file');
  assert.equal(counts.REJECTED, f.rejects + f.rejectedByMaxTries);
  const letters = await fx.ledger.deadLetters(SOURCE, 10 * FILES);
  assert.equal(letters.length, counts.REJECTED, 'one dead letter per REJECTED file');
  assert.equal(new Set(letters.map((l) => l.path)).size, letters.length);
  const issued = Number(await fx.redis.get(fx.ledger.keys(SOURCE)[0] ?? ''));
  assert.equal(tokenPaths.size, issued, 'every issued token was returned to exactly one claim');
  assert.deepEqual(await fx.redis.hgetall(fx.ledger.keys(SOURCE)[2] ?? ''), {}, 'no file left in flight');

  // Old attempts are fenced out for good: nothing they try changes a record.
  for (const { path, token } of superseded.slice(0, 200)) {
    const before = await fx.ledger.get(SOURCE, path);
    assert.equal((await fx.ledger.commit(SOURCE, path, token)).ok, false);
    assert.equal((await fx.ledger.renew(SOURCE, path, token, LEASE_MS)).ok, false);
    assert.deepEqual(await fx.ledger.get(SOURCE, path), before);
  }

  const claimMs = f.claimMs.map((ms) => Math.round(ms));
  t.diagnostic(`files ${FILES}, clusters ${CLUSTERS.length}, connections ${workers.length}, rounds ${ROUNDS} + drain`);
  t.diagnostic(`claim calls ${f.calls}, claims returned ${f.claimsReturned} (incl. same-run repeats)`);
  t.diagnostic(`tokens issued ${issued}, unique ${tokenPaths.size}, retakes (tries > 1) ${f.retakes}`);
  t.diagnostic(`commits ${f.commits}, releases ${f.releases}, rejects ${f.rejects}, abandoned ${f.abandoned}`);
  t.diagnostic(`rejected at maxTries ${f.rejectedByMaxTries}, final ${JSON.stringify(counts)}`);
  t.diagnostic(`stale tokens checked ${Math.min(200, superseded.length)} of ${superseded.length}`);
  t.diagnostic(`claim phase ms per round (8 concurrent scripts of ${FILES} keys): ${claimMs.join(', ')}`);
  t.diagnostic(`total ${Math.round(performance.now() - started)} ms`);
});
