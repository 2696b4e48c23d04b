// The ledger race, shared by test/ledger-race.test.ts and the Redis topology tests: two clusters, several
// connections each, the same files claimed round after round while claims are committed, released, rejected
// and left to expire. The ledger must never give one file to two owners or one token twice.
//
// With `resilient`, a ledger call that fails with a connection error (a failover) is tried again, as Temporal
// retries an activity; a retried call whose first try may have run is allowed to find its own effect there.
// `duringAct` splits the act phase of one round: half of its calls first, then `action` (e.g. a failover), and
// the other half once the action says the master is gone: those are made while there is no master, and must
// wait or fail (fail closed) and then count exactly once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ledger, type Candidate, type Claim, type ClaimBatchOptions } from '../../src/ledger';
import type { RedisClient } from '../../src/ledger/scripts';
import { file } from './ledger';

export interface RaceOptions {
  /** A new connection to the Redis under test (the race closes none of them). */
  connect(): RedisClient;
  source?: string;
  files?: number;
  rounds?: number;
  connectionsPerCluster?: number;
  leaseMs?: number;
  resilient?: boolean;
  /** `action` calls `killed()` when the master is gone (if it never does, the second half starts after it). */
  duringAct?: { round: number; action: (killed: () => void) => Promise<void> };
  diagnostic(message: string): void;
}

export interface RaceFigures {
  files: number;
  calls: number;
  claimsReturned: number;
  retakes: number;
  commits: number;
  releases: number;
  rejects: number;
  abandoned: number;
  /** By a claim (expired lease or due retry) or by a release, at maxTries. */
  rejectedByMaxTries: number;
  /** Ledger calls that failed with a connection error and were tried again. */
  retried: number;
  /** With `duringAct`: how long each call made while there was no master took until it counted (ms). */
  outageCallMs: number[];
  /** The ledger's `commits` counter at the end (transitions to DONE). */
  commitCounter: number;
  claimMs: number[];
}

const CLUSTERS = ['east', 'west'];
const MAX_TRIES = 4;

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

type Held = { cluster: string; claim: Claim };

/** Errors of the connection (not of the ledger's logic): the call may or may not have run. */
function isConnectionError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /ECONNREFUSED|ECONNRESET|EPIPE|Connection is closed|max retries|MaxRetriesPerRequest|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots|READONLY|LOADING|MASTERDOWN|timed out|isn't ready|None of startup nodes|All sentinels are unreachable|NOSCRIPT/i.test(
    message,
  );
}

export async function runLedgerRace(o: RaceOptions): Promise<RaceFigures> {
  const SOURCE = o.source ?? 'race';
  const FILES = o.files ?? 1_000;
  const ROUNDS = o.rounds ?? 5;
  const LEASE_MS = o.leaseMs ?? 2_500;
  const LIMITS = { leaseMs: LEASE_MS, maxTries: MAX_TRIES, maxAcceptPerPoll: 300, maxInFlight: 400 } as const;
  const started = performance.now();
  const f: RaceFigures = {
    files: FILES,
    calls: 0,
    claimsReturned: 0,
    retakes: 0,
    commits: 0,
    releases: 0,
    rejects: 0,
    abandoned: 0,
    rejectedByMaxTries: 0,
    retried: 0,
    outageCallMs: [],
    commitCounter: 0,
    claimMs: [],
  };

  /** Runs `call`; with `resilient`, tries again after a connection error. `retry` is true on a second try. */
  async function attempt<T>(call: (retry: boolean) => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await call(tries > 0);
      } catch (err) {
        if (!o.resilient || !isConnectionError(err) || tries > 600) throw err; // a minute: failovers on a loaded machine
        f.retried += 1;
        await sleep(100);
      }
    }
  }

  const main = new Ledger(o.connect());
  const workers: Worker[] = CLUSTERS.flatMap((cluster) =>
    Array.from({ length: o.connectionsPerCluster ?? 4 }, () => ({ cluster, ledger: new Ledger(o.connect()) })),
  );
  const candidates: Candidate[] = Array.from({ length: FILES }, (_, i) =>
    file(`in/f${String(i).padStart(4, '0')}.csv`),
  );
  const rand = random(42);

  const options = (cluster: string, round: number): ClaimBatchOptions => ({
    clusterId: cluster,
    // The connections of one cluster share the poll run: like a listing activity retried while it still runs.
    pollRun: `${cluster}-${round}`,
    versionPolicy: 'reprocess',
    ...LIMITS,
  });

  /** Every connection claims the whole listing (in its own order) at the same time. */
  async function claimRound(round: number) {
    const t0 = performance.now();
    const orders = workers.map(() => shuffled(candidates, rand));
    const results = await Promise.all(
      workers.map((w, i) => attempt(() => w.ledger.claimBatch(SOURCE, orders[i] ?? [], options(w.cluster, round)))),
    );
    f.claimMs.push(performance.now() - t0);
    f.calls += workers.length;
    return results.map((result, i) => {
      assert.ok(result.claims.length <= LIMITS.maxAcceptPerPoll);
      f.claimsReturned += result.claims.length;
      f.rejectedByMaxTries += result.rejected.length;
      return { cluster: workers[i]?.cluster ?? '', claims: result.claims };
    });
  }

  /** One owner and one token per file within a round; returns each file's claim once. */
  function checkOneOwnerPerFile(returned: { cluster: string; claims: Claim[] }[], tokenPaths: Map<number, string>) {
    const byPath = new Map<string, Held>();
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

  async function checkLedgerState(held: Held[]) {
    const records = await attempt(() => main.list(SOURCE, { count: 10 * FILES }));
    assert.equal(records.cursor, '0');
    const byPath = new Map(records.records.map((r) => [r.path, r]));
    for (const { cluster, claim } of held) {
      const record = byPath.get(claim.path);
      assert.deepEqual([record?.status, record?.owner, record?.token], ['IN_PROGRESS', cluster, claim.token]);
    }
    for (const cluster of CLUSTERS) {
      const actual = records.records.filter((r) => r.status === 'IN_PROGRESS' && r.owner === cluster).length;
      assert.equal(await attempt(() => main.inFlight(SOURCE, cluster)), actual, `inflight counter of ${cluster}`);
      assert.ok(actual <= LIMITS.maxInFlight);
    }
  }

  /** Commits, releases, rejects or abandons each held claim, from a connection of its owner, all at once. */
  async function actOnClaims(held: Held[], timed?: number[]) {
    await Promise.all(
      held.map(async ({ cluster, claim }) => {
        const t0 = performance.now();
        const owners = workers.filter((w) => w.cluster === cluster);
        const ledger = (owners[Math.floor(rand() * owners.length)] ?? owners[0])?.ledger;
        assert.ok(ledger);
        const dice = rand();
        if (dice < 0.4) {
          const done = await attempt(async (retry) => {
            const r = await ledger.commit(SOURCE, claim.path, claim.token, 'ok');
            assert.ok(r.ok && (retry || !r.alreadyCommitted), `commit of a current claim: ${JSON.stringify(r)}`);
            return r;
          });
          assert.ok(done.ok);
          f.commits += 1;
        } else if (dice < 0.6) {
          const released = await attempt(async (retry) => {
            const r = await ledger.release(SOURCE, claim.path, claim.token, 'flaky', {
              retryDelayMs: 0,
              maxTries: MAX_TRIES,
            });
            // A retry of a release that ran finds its own RETRY_WAIT/REJECTED record.
            if (!r.ok && retry && (r.record?.status === 'RETRY_WAIT' || r.record?.status === 'REJECTED')) {
              return { ok: true as const, status: r.record.status };
            }
            assert.ok(r.ok, `release of a current claim: ${JSON.stringify(r)}`);
            return r;
          });
          f.releases += 1;
          if (released.status === 'REJECTED') f.rejectedByMaxTries += 1;
        } else if (dice < 0.65) {
          await attempt(async (retry) => {
            const r = await ledger.reject(SOURCE, claim.path, claim.token, 'bad input');
            assert.ok(r.ok || (retry && r.record?.status === 'REJECTED'), `reject: ${JSON.stringify(r)}`);
          });
          f.rejects += 1;
        } else {
          f.abandoned += 1; // its lease expires before the next round
          return;
        }
        timed?.push(performance.now() - t0);
      }),
    );
  }

  /** The act phase of the `duringAct` round: half the calls, the action, the other half once the master is gone. */
  async function actThroughAction(held: Held[], action: (killed: () => void) => Promise<void>) {
    const half = Math.floor(held.length / 2);
    await actOnClaims(held.slice(0, half));
    let killed!: () => void;
    const gone = new Promise<void>((resolve) => (killed = resolve));
    const during = action(killed);
    await Promise.race([gone, during]);
    await Promise.all([actOnClaims(held.slice(half), f.outageCallMs), during]);
    // Fail closed: nothing counts before a replica is promoted, which takes sentinels or cluster nodes at least
    // a failure detection and an election (seconds here); a call answered at once went to no master.
    assert.ok(f.outageCallMs.length > 0, 'calls were made while there was no master');
    const fastest = Math.min(...f.outageCallMs);
    assert.ok(fastest >= 100, `a call made while there was no master counted after ${Math.round(fastest)} ms`);
  }

  const tokenPaths = new Map<number, string>();
  const lastToken = new Map<string, number>();
  const superseded: { path: string; token: number }[] = [];
  const remember = (held: Held[]): void => {
    for (const { claim } of held) {
      const previous = lastToken.get(claim.path);
      if (previous !== undefined) superseded.push({ path: claim.path, token: previous });
      if (claim.attempt > 1) f.retakes += 1;
      lastToken.set(claim.path, claim.token);
    }
  };

  for (let round = 1; round <= ROUNDS; round++) {
    const roundStart = performance.now();
    const held = checkOneOwnerPerFile(await claimRound(round), tokenPaths);
    // The one-owner check above relies on no lease expiring during the round.
    assert.ok(performance.now() - roundStart < LEASE_MS / 2, 'claim phase took too long for this test');
    remember(held);
    await checkLedgerState(held);
    if (o.duringAct?.round === round) await actThroughAction(held, o.duringAct.action);
    else await actOnClaims(held);
    await checkLedgerState([]);
    await sleep(LEASE_MS + 100);
  }

  // Drain: claim and commit until nothing is left to claim.
  for (let round = ROUNDS + 1; ; round++) {
    const held = checkOneOwnerPerFile(await claimRound(round), tokenPaths);
    if (held.length === 0) break;
    remember(held);
    await Promise.all(
      held.map(({ claim }) => attempt(async () => assert.ok((await main.commit(SOURCE, claim.path, claim.token)).ok))),
    );
    f.commits += held.length;
  }

  const counts = await attempt(() => main.counts(SOURCE));
  assert.equal(counts.DONE + counts.REJECTED, FILES, `every file ends DONE or REJECTED: ${JSON.stringify(counts)}`);
  assert.equal(counts.DONE, f.commits, 'one successful commit per DONE file');
  f.commitCounter = await attempt(() => main.commits(SOURCE));
  assert.equal(f.commitCounter, counts.DONE, 'the commits counter: nothing committed twice');
  assert.equal(counts.REJECTED, f.rejects + f.rejectedByMaxTries);
  const letters = await attempt(() => main.deadLetters(SOURCE, 10 * FILES));
  assert.equal(letters.length, counts.REJECTED, 'one dead letter per REJECTED file');
  assert.equal(new Set(letters.map((l) => l.path)).size, letters.length);
  const [tokenKey = '', , inflightKey = ''] = main.keys(SOURCE);
  const redis = o.connect();
  const issued = Number(await attempt(() => redis.get(tokenKey)));
  assert.equal(tokenPaths.size, issued, 'every issued token was returned to exactly one claim');
  assert.deepEqual(await attempt(() => redis.hgetall(inflightKey)), {}, 'no file left in flight');

  // Old attempts are fenced out for good: nothing they try changes a record.
  for (const { path, token } of superseded.slice(0, 200)) {
    // After a failover the connections may still be settling: the checks retry a closed connection, like the rest.
    const before = await attempt(() => main.get(SOURCE, path));
    assert.equal((await attempt(() => main.commit(SOURCE, path, token))).ok, false);
    assert.equal((await attempt(() => main.renew(SOURCE, path, token, LEASE_MS))).ok, false);
    assert.deepEqual(await attempt(() => main.get(SOURCE, path)), before);
  }

  const claimMs = f.claimMs.map((ms) => Math.round(ms));
  o.diagnostic(`files ${FILES}, clusters ${CLUSTERS.length}, connections ${workers.length}, rounds ${ROUNDS} + drain`);
  o.diagnostic(`claim calls ${f.calls}, claims returned ${f.claimsReturned} (incl. same-run repeats)`);
  o.diagnostic(`tokens issued ${issued}, unique ${tokenPaths.size}, retakes (attempt > 1) ${f.retakes}`);
  o.diagnostic(`commits ${f.commits}, releases ${f.releases}, rejects ${f.rejects}, abandoned ${f.abandoned}`);
  o.diagnostic(`rejected at maxTries ${f.rejectedByMaxTries}, final ${JSON.stringify(counts)}`);
  o.diagnostic(`commits counter ${f.commitCounter}, calls retried after a connection error ${f.retried}`);
  if (o.duringAct) {
    const [min = 0, max = 0] = [Math.min(...f.outageCallMs), Math.max(...f.outageCallMs)].map(Math.round);
    o.diagnostic(`calls made while there was no master ${f.outageCallMs.length}, counted after ${min}–${max} ms`);
  }
  o.diagnostic(`stale tokens checked ${Math.min(200, superseded.length)} of ${superseded.length}`);
  o.diagnostic(
    `claim phase ms per round (${workers.length} concurrent scripts of ${FILES} keys): ${claimMs.join(', ')}`,
  );
  o.diagnostic(`total ${Math.round(performance.now() - started)} ms`);
  return f;
}
