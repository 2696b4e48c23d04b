// The cross-cluster accept-once ledger (DESIGN.md §4): every transition is one Lua script on Redis; this class
// only builds keys and arguments, and types the replies. Reads (get, list, counts) need no atomicity.
import { fileVersion, fileWorkflowId } from '../shared/ids';
import { assertPrefix, DEFAULT_PREFIX, sourceKeys, type SourceKeys } from './keys';
import { parseRecord, unpackRecord, type RawRecord } from './record';
import type { Refused, Reply } from './replies';
import type { ReplicationGuard } from './replication';
import { registerScripts, type RedisClient, type RunScript, type ScriptName } from './scripts';
import { assertClaimOptions, assertLeaseMs, assertReleaseOptions, assertToken, dedupeCandidates } from './validate';
import {
  STATUSES,
  type Candidate,
  type Claim,
  type ClaimBatchOptions,
  type ClaimBatchResult,
  type DeadLetter,
  type BeginRunResult,
  type RunStep,
  type SourceHealth,
  type LedgerSize,
  type VanishResult,
  type FailingWorkflows,
  type FenceFailure,
  type FenceFailureReason,
  type FenceResult,
  type LedgerRecord,
  type ListOptions,
  type ListPage,
  type OperatorResult,
  type RejectedFile,
  type RejectUnsafeResult,
  type ReleaseOptions,
  type ReleaseResult,
  type RenewResult,
  type RunningAttempt,
  type Status,
  type VersionPolicy,
} from './types';

export interface LedgerOptions {
  /** First part of every key (default 'ftpi'). */
  prefix?: string;
  /** Count a write only once this many replicas have it (Sentinel or Cluster failover safety; default none). */
  replication?: ReplicationGuard;
}

/** The reasons a fenced call reports; any other refusal from a fenced script is a bug in it. */
function fenceReason(refused: Refused): FenceFailureReason {
  const { reason } = refused;
  if (reason === 'missing' || reason === 'superseded' || reason === 'not-in-progress') return reason;
  throw new Error(`ledger: unexpected refusal ${reason} from a fenced script`);
}

/** Entries of the stable-size `seen` hash one observation looks at for trimming (paths no longer listed). */
const SEEN_TRIM_PER_CALL = 1_000;

/**
 * How long an unlisted path stays in `seen` at least (observe.lua): far longer than another cluster with other
 * filters needs to see its file stable and claim it, and short enough that vanished paths do not pile up.
 */
const SEEN_KEEP_MIN_MS = 3_600_000;

/** Health hash fields `failing:<cluster>`: a cluster's file workflows with failing workflow tasks (JSON). */
const FAILING_FIELD = 'failing:';

function parseFailing(value: string): Omit<FailingWorkflows, 'cluster'> {
  const { count, example, at } = JSON.parse(value) as Record<string, unknown>;
  return { count: Number(count), example: String(example), at: Number(at) };
}

function seenKeepMs(stableMs: number): number {
  return Math.max(SEEN_KEEP_MIN_MS, 4 * stableMs);
}

/**
 * How long a cluster's polls keep a claim whose attempt has not begun a run (its child workflow not started or
 * not visible yet), in leases from the claim: a loaded Temporal can start a poll's children slower than a lease.
 */
export const START_GRACE_LEASES = 3;

export class Ledger {
  private readonly run: RunScript;
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    options: LedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    assertPrefix(this.prefix);
    this.run = registerScripts(redis, options.replication);
  }

  /** Every key name the ledger uses for a source (a path's record is a field of `records`, not a key). */
  keys(sourceId: string): string[] {
    const k = this.sourceKeys(sourceId);
    return [k.token, k.records, k.inflight, k.dlq, k.seen, k.stats, k.due, k.health, k.cursors];
  }

  /**
   * Claims what the rules allow of one listing, in its order, in one script (see DESIGN.md §4). Each claim's
   * workflow id is `<fileWorkflowIdBase(sourceId, path, version)>#<attempt>`. With `dryRun`
   * nothing is written and `decisions` says what would happen to each candidate, and why.
   */
  async claimBatch(sourceId: string, candidates: Candidate[], opts: ClaimBatchOptions): Promise<ClaimBatchResult> {
    assertClaimOptions(opts);
    const { unique, duplicates } = dedupeCandidates(candidates);
    const extra: ClaimBatchResult['skipped'] = duplicates > 0 ? { duplicate: duplicates } : {};
    if (unique.length === 0)
      return { claims: [], skipped: extra, rejected: [], ...(opts.dryRun ? { decisions: [] } : {}) };

    const k = this.sourceKeys(sourceId);
    const keys = [k.token, k.records, k.inflight, k.dlq, k.due];
    const args: (string | number)[] = [
      opts.clusterId,
      opts.pollRun,
      opts.leaseMs,
      opts.maxTries,
      opts.maxAcceptPerPoll,
      opts.maxInFlight,
      opts.versionPolicy,
      opts.dryRun ? '1' : '0',
    ];
    const versions = unique.map((c) => fileVersion(c.mtimeMs, c.size));
    args.push(unique.map((c, i) => `${c.path}\t${versions[i]}\n`).join(''));
    args.push(opts.listedAgoMs === undefined ? '' : Math.max(0, Math.round(opts.listedAgoMs)));
    const reply = await this.run('claim', keys, args);
    return {
      claims: claimsOf(sourceId, opts.clusterId, unique, versions, reply),
      skipped: { ...reply.skipped, ...extra },
      rejected: reply.rejected.map((r): RejectedFile => ({ ...r, error: r.error ?? '' })),
      ...(reply.decisions ? { decisions: reply.decisions } : {}),
    };
  }

  /** Extends the lease while `token` still owns the IN_PROGRESS record. */
  async renew(sourceId: string, path: string, token: number, leaseMs: number, owner?: string): Promise<RenewResult> {
    assertToken(token);
    assertLeaseMs(leaseMs);
    const { due } = this.sourceKeys(sourceId);
    const reply = await this.runOnFile('renew', sourceId, path, [due], [claimArg(token, owner), leaseMs]);
    if (reply.ok) return { ok: true, leaseUntil: reply.leaseUntil };
    return this.fenceFailure(sourceId, path, reply);
  }

  /**
   * A run of a long step starts: renews the lease and counts the run open until `endRun`. Fails with
   * 'crash-loop' once `maxCrashes` runs of this step in a row never ended (their worker died or hung).
   */
  async beginRun(
    sourceId: string,
    path: string,
    token: number,
    opts: { step: RunStep; leaseMs: number; maxCrashes: number; owner?: string },
  ): Promise<BeginRunResult> {
    assertToken(token);
    assertLeaseMs(opts.leaseMs);
    const k = this.sourceKeys(sourceId);
    const args = [claimArg(token, opts.owner), opts.leaseMs, opts.maxCrashes, opts.step];
    const reply = await this.runOnFile('beginRun', sourceId, path, [k.due, k.runs], args);
    if (reply.ok) return { ok: true, leaseUntil: reply.leaseUntil, crashes: reply.crashes };
    if (reply.reason === 'crash-loop') return { ok: false, reason: 'crash-loop', crashes: reply.crashes ?? 0 };
    return this.fenceFailure(sourceId, path, reply);
  }

  /**
   * Per long step of the attempt with this token: its runs begun since the step last ended (the last may still
   * run). `maxCrashes` of them in a row end the attempt as a crash loop.
   */
  async runsInRow(sourceId: string, path: string, token: number): Promise<Record<RunStep, number>> {
    const value = await this.redis.hget(this.sourceKeys(sourceId).runs, path);
    const counts = /^(\d+):(\d+),(\d+)$/.exec(value ?? '');
    return counts && Number(counts[1]) === token
      ? { download: Number(counts[2]), process: Number(counts[3]) }
      : { download: 0, process: 0 };
  }

  /** A run opened by `beginRun` ended with a result or a reported error: the step's count in a row starts again. */
  async endRun(sourceId: string, path: string, token: number, step: RunStep): Promise<void> {
    assertToken(token);
    await this.runOnFile('endRun', sourceId, path, [this.sourceKeys(sourceId).runs], [token, step]);
  }

  /**
   * The fenced commit; a repeat by the same token succeeds again with `alreadyCommitted`. With
   * `actionGraceMs`, a remote action is owed: the committing workflow runs it, or any poll after that grace.
   */
  async commit(
    sourceId: string,
    path: string,
    token: number,
    result?: string,
    opts: { actionGraceMs?: number; owner?: string } = {},
  ): Promise<FenceResult> {
    assertToken(token);
    const k = this.sourceKeys(sourceId);
    const args = [claimArg(token, opts.owner), result ?? '', opts.actionGraceMs ?? ''];
    const reply = await this.runOnFile('commit', sourceId, path, [k.inflight, k.stats, k.due], args);
    if (!reply.ok) return this.fenceFailure(sourceId, path, reply);
    return { ok: true, alreadyCommitted: reply.alreadyCommitted, record: this.record(sourceId, path, reply.record) };
  }

  /** Gives the attempt up: RETRY_WAIT for `retryDelayMs`, or REJECTED (dead-lettered) once tries ≥ maxTries. */
  async release(
    sourceId: string,
    path: string,
    token: number,
    error: string,
    opts: ReleaseOptions,
  ): Promise<ReleaseResult> {
    assertToken(token);
    assertReleaseOptions(opts);
    const k = this.sourceKeys(sourceId);
    const args = [claimArg(token, opts.owner), error, opts.retryDelayMs, opts.maxTries];
    const reply = await this.runOnFile('release', sourceId, path, [k.inflight, k.dlq, k.due, k.runs], args);
    return this.releaseResult(sourceId, path, reply);
  }

  /** Fenced: the attempt failed in a way no retry can fix → REJECTED with one dead letter. */
  async reject(sourceId: string, path: string, token: number, error: string, owner?: string): Promise<ReleaseResult> {
    assertToken(token);
    const k = this.sourceKeys(sourceId);
    const args = [claimArg(token, owner), error];
    const reply = await this.runOnFile('reject', sourceId, path, [k.inflight, k.dlq, k.due, k.runs], args);
    return this.releaseResult(sourceId, path, reply);
  }

  /** Unfenced: records an unsafe remote name as REJECTED (tries 0), dead-lettered once per version. */
  async rejectUnsafe(sourceId: string, path: string, version: string, error: string): Promise<RejectUnsafeResult> {
    const k = this.sourceKeys(sourceId);
    const reply = await this.runOnFile('rejectUnsafe', sourceId, path, [k.inflight, k.dlq, k.due], [version, error]);
    return { recorded: reply.recorded, record: this.record(sourceId, path, reply.record) };
  }

  /** Operator: REJECTED → RETRY_WAIT due now with a fresh budget of tries. */
  async retryRejected(sourceId: string, path: string): Promise<OperatorResult> {
    const due = this.sourceKeys(sourceId).due;
    return this.operatorResult(sourceId, path, await this.runOnFile('retryRejected', sourceId, path, [due], []));
  }

  /** Operator `--reprocess`: DONE or REJECTED → RETRY_WAIT due now, so the same version runs again. */
  async reprocess(sourceId: string, path: string): Promise<OperatorResult> {
    const due = this.sourceKeys(sourceId).due;
    return this.operatorResult(sourceId, path, await this.runOnFile('reprocess', sourceId, path, [due], []));
  }

  /**
   * Extends the leases of this cluster's claims whose file workflows are running (the attempt named by its
   * workflow id must still be the record's current one), and of its live claims whose attempt has not begun a
   * run yet, for START_GRACE_LEASES leases from the claim (their workflow may not be started or visible yet).
   * Returns how many were extended.
   */
  async renewRunning(sourceId: string, clusterId: string, running: RunningAttempt[], leaseMs: number): Promise<number> {
    const attempts = running.flatMap((r) => {
      const named = attemptOf(sourceId, r);
      return named ? [r.path, named.version, named.attempt] : [];
    });
    const k = this.sourceKeys(sourceId);
    const startGraceMs = START_GRACE_LEASES * leaseMs;
    return this.run('renewRunning', [k.records, k.due], [clusterId, leaseMs, startGraceMs, ...attempts]);
  }

  /**
   * Records when each listed file was first seen with its version (by any cluster) and returns the paths whose
   * version has not changed for `stableMs` of Redis time: a file still being uploaded is not taken yet. Paths
   * not in this listing are forgotten once first seen more than `keepUnlistedMs` ago.
   */
  async observeVersions(
    sourceId: string,
    candidates: Candidate[],
    stableMs: number,
    keepUnlistedMs = seenKeepMs(stableMs),
  ): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const k = this.sourceKeys(sourceId);
    const versions = candidates.flatMap((c) => [c.path, fileVersion(c.mtimeMs, c.size)]);
    const args = [stableMs, SEEN_TRIM_PER_CALL, keepUnlistedMs, ...versions];
    return new Set(await this.run('observe', [k.seen, k.cursors], args));
  }

  /** Paths whose deadline has passed (lease, retry time, owed remote action), oldest first, at most `limit`. */
  async duePaths(sourceId: string, limit: number): Promise<string[]> {
    return this.run('due', [this.sourceKeys(sourceId).due], [limit]);
  }

  /**
   * Due paths that the poll did not find: unfinished claims are REJECTED as 'vanished' once missing for
   * `vanishAfterMs`; an owed remote action of a file that is gone is dropped.
   */
  async vanish(sourceId: string, paths: string[], vanishAfterMs: number): Promise<VanishResult> {
    if (paths.length === 0) return { vanished: [], waiting: 0 };
    const k = this.sourceKeys(sourceId);
    return this.run('vanish', [k.records, k.inflight, k.dlq, k.due], [vanishAfterMs, ...paths]);
  }

  /** A poll takes over the remote action owed by a DONE version once its deadline passed; false if not due. */
  async takeAction(sourceId: string, path: string, version: string, leaseMs: number): Promise<boolean> {
    const { due } = this.sourceKeys(sourceId);
    const reply = await this.runOnFile('takeAction', sourceId, path, [due], [version, leaseMs]);
    return reply.ok;
  }

  /** Records the outcome of the remote action owed by a DONE version (fenced by version). */
  async actionDone(sourceId: string, path: string, version: string, outcome: string): Promise<boolean> {
    const due = this.sourceKeys(sourceId).due;
    const reply = await this.runOnFile('actionDone', sourceId, path, [due], [version, outcome]);
    return reply.ok;
  }

  /**
   * Retention candidates: of the next page of about `count` records (a scan whose cursor the ledger keeps, so
   * successive calls walk the whole source and start over), the paths that finished (DONE or REJECTED) more
   * than `forgetAfterMs` ago.
   */
  async finishedBefore(sourceId: string, forgetAfterMs: number, count: number): Promise<string[]> {
    const k = this.sourceKeys(sourceId);
    return this.run('finished', [k.records, k.cursors], [forgetAfterMs, count]);
  }

  /**
   * Retention: removes the finished records of `paths` (files the caller did not find on the server) that
   * finished more than `forgetAfterMs` ago. Returns how many were removed.
   */
  async forget(sourceId: string, paths: string[], forgetAfterMs: number): Promise<number> {
    if (paths.length === 0) return 0;
    const k = this.sourceKeys(sourceId);
    return this.run('forget', [k.records, k.due, k.seen], [forgetAfterMs, ...paths]);
  }

  /**
   * How big the source's ledger is: records, how many are finished, and the Redis memory per record. The due
   * set is small (records in flight), so it is read whole to tell owed actions (finished) from the unfinished.
   */
  async size(sourceId: string): Promise<LedgerSize> {
    const k = this.sourceKeys(sourceId);
    const [records, due, seen, deadLetters, bytes] = await Promise.all([
      this.redis.hlen(k.records),
      this.redis.zrange(k.due, 0, -1),
      this.redis.hlen(k.seen),
      this.redis.xlen(k.dlq),
      this.redis.memory('USAGE', k.records).then((b) => Number(b ?? 0)),
    ]);
    const dueRecords = await this.getMany(sourceId, due);
    const unfinished = dueRecords.filter((r) => r.status === 'IN_PROGRESS' || r.status === 'RETRY_WAIT').length;
    const bytesPerRecord = records > 0 ? Math.round(bytes / records) : 0;
    return { records, unfinished, finished: records - unfinished, seen, deadLetters, bytesPerRecord };
  }

  /** The ledger's clock (Redis TIME) in ms: every time decision uses it, never a worker's clock. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Records the outcome of a poll of the source (the source's health in `status`). */
  async recordPoll(
    sourceId: string,
    outcome: { ok: true; listed: number } | { ok: false; error: string },
  ): Promise<void> {
    const k = this.sourceKeys(sourceId);
    const at = await this.now();
    if (outcome.ok) {
      await this.redis.hset(k.health, { lastPollAt: at, lastOkAt: at, listed: outcome.listed, error: '' });
    } else {
      await this.redis.hset(k.health, { lastPollAt: at, lastErrorAt: at, error: outcome.error });
    }
  }

  /**
   * Records which of the cluster's running file workflows of the source Temporal flags with failing workflow
   * tasks (none: clears the cluster's entry); `status` shows them.
   */
  async recordFailingWorkflows(sourceId: string, clusterId: string, workflowIds: string[]): Promise<void> {
    const { health } = this.sourceKeys(sourceId);
    const field = `${FAILING_FIELD}${clusterId}`;
    if (workflowIds.length === 0) {
      await this.redis.hdel(health, field);
      return;
    }
    const entry = { count: workflowIds.length, example: workflowIds[0], at: await this.now() };
    await this.redis.hset(health, field, JSON.stringify(entry));
  }

  /** The last poll outcomes of the source; undefined before its first poll. */
  async health(sourceId: string): Promise<SourceHealth | undefined> {
    const raw = await this.redis.hgetall(this.sourceKeys(sourceId).health);
    if (raw.lastPollAt === undefined) return undefined;
    const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);
    const failingWorkflows = Object.entries(raw)
      .filter(([field]) => field.startsWith(FAILING_FIELD))
      .map(([field, value]) => ({ cluster: field.slice(FAILING_FIELD.length), ...parseFailing(value) }));
    return {
      ok: !raw.error,
      lastPollAt: Number(raw.lastPollAt),
      lastOkAt: num(raw.lastOkAt),
      lastErrorAt: num(raw.lastErrorAt),
      listed: num(raw.listed),
      ...(raw.error ? { error: raw.error } : {}),
      ...(failingWorkflows.length > 0 ? { failingWorkflows } : {}),
    };
  }

  /**
   * The listed paths that still have work to do: no record, IN_PROGRESS or RETRY_WAIT, or a DONE/REJECTED
   * record of another version when the policy reprocesses new versions. For ordered sources.
   */
  async unfinished(
    sourceId: string,
    candidates: Candidate[],
    versionPolicy: VersionPolicy = 'reprocess',
  ): Promise<Set<string>> {
    const records = await this.getMany(
      sourceId,
      candidates.map((c) => c.path),
    );
    const recordOf = new Map(records.map((r) => [r.path, r]));
    const finished = (c: Candidate): boolean => {
      const record = recordOf.get(c.path);
      if (!record || record.status === 'IN_PROGRESS' || record.status === 'RETRY_WAIT') return false;
      return versionPolicy === 'ignore' || record.version === fileVersion(c.mtimeMs, c.size);
    };
    return new Set(candidates.filter((c) => !finished(c)).map((c) => c.path));
  }

  /** Transitions to DONE so far: equal to the DONE versions when nothing was committed twice. */
  async commits(sourceId: string): Promise<number> {
    return Number((await this.redis.hget(this.sourceKeys(sourceId).stats, 'commits')) ?? 0);
  }

  /** The records of `paths` (paths without a record are left out). */
  async records(sourceId: string, paths: string[]): Promise<LedgerRecord[]> {
    return this.getMany(sourceId, paths);
  }

  async get(sourceId: string, path: string): Promise<LedgerRecord | undefined> {
    const packed = await this.redis.hget(this.sourceKeys(sourceId).records, path);
    return parseRecord(sourceId, path, unpackRecord(packed));
  }

  /** One HSCAN page of the source's records (a page may hold fewer than `count` when filtered by status). */
  async list(sourceId: string, opts: ListOptions = {}): Promise<ListPage> {
    const k = this.sourceKeys(sourceId);
    const [cursor, flat] = await this.redis.hscan(k.records, opts.cursor ?? '0', 'COUNT', opts.count ?? 100);
    const records: LedgerRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const record = parseRecord(sourceId, flat[i]!, unpackRecord(flat[i + 1]));
      if (record && (!opts.status || record.status === opts.status)) records.push(record);
    }
    return { records, cursor };
  }

  /** Records per status, by a full scan of the source (an operator's view, not for hot paths). */
  async counts(sourceId: string): Promise<Record<Status, number>> {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
    let cursor = '0';
    do {
      const page = await this.list(sourceId, { cursor, count: 1000 });
      for (const record of page.records) counts[record.status] += 1;
      cursor = page.cursor;
    } while (cursor !== '0');
    return counts;
  }

  /** IN_PROGRESS records owned by `clusterId` (what maxInFlight is checked against). */
  async inFlight(sourceId: string, clusterId: string): Promise<number> {
    return Number((await this.redis.hget(this.sourceKeys(sourceId).inflight, clusterId)) ?? 0);
  }

  /** The newest `count` dead letters, newest first (each names its attempt's workflow, when it had a claim). */
  async deadLetters(sourceId: string, count = 100): Promise<DeadLetter[]> {
    const entries = await this.redis.xrevrange(this.sourceKeys(sourceId).dlq, '+', '-', 'COUNT', count);
    return entries.map(([id, flat]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] ?? '', flat[i + 1] ?? '');
      const field = (name: string): string => f.get(name) ?? '';
      const [path, version, attempt] = [field('path'), field('version'), field('attempt')];
      return {
        id,
        path,
        version,
        tries: Number(field('tries')),
        error: field('error'),
        owner: field('owner'),
        workflowId: attempt === '' ? '' : fileWorkflowId(sourceId, path, version, Number(attempt)),
      };
    });
  }

  private sourceKeys(sourceId: string): SourceKeys {
    return sourceKeys(this.prefix, sourceId);
  }

  // Scripts on one path take the records hash first, then the source keys they need; the path is their ARGV[1].
  private async runOnFile<N extends ScriptName>(
    name: N,
    sourceId: string,
    path: string,
    otherKeys: string[],
    args: (string | number)[],
  ): Promise<Reply<N>> {
    return this.run(name, [this.sourceKeys(sourceId).records, ...otherKeys], [path, ...args]);
  }

  private async getMany(sourceId: string, paths: string[]): Promise<LedgerRecord[]> {
    if (paths.length === 0) return [];
    const packed = await this.redis.hmget(this.sourceKeys(sourceId).records, ...paths);
    return paths.flatMap((path, i) => parseRecord(sourceId, path, unpackRecord(packed[i])) ?? []);
  }

  private record(sourceId: string, path: string, raw: RawRecord): LedgerRecord {
    const record = parseRecord(sourceId, path, raw);
    if (!record) throw new Error(`ledger script returned no record for ${path}`);
    return record;
  }

  private fenceFailure(sourceId: string, path: string, refused: Refused): FenceFailure {
    const record = parseRecord(sourceId, path, refused.record);
    const reason = fenceReason(refused);
    return record ? { ok: false, reason, record } : { ok: false, reason };
  }

  private releaseResult(sourceId: string, path: string, reply: Reply<'release'>): ReleaseResult {
    if (!reply.ok) return this.fenceFailure(sourceId, path, reply);
    return { ok: true, status: reply.status, record: this.record(sourceId, path, reply.record) };
  }

  private operatorResult(sourceId: string, path: string, reply: Reply<'reprocess'>): OperatorResult {
    if (reply.ok) return { ok: true, record: this.record(sourceId, path, reply.record) };
    const record = parseRecord(sourceId, path, reply.record);
    const reason = operatorRefusal(reply);
    return record ? { ok: false, reason, record } : { ok: false, reason };
  }
}

/**
 * A fenced call's claim: its token, and the cluster it was made for when known (a Redis that lost its last writes
 * issues lost tokens again, maybe for the same path to another cluster: the owner tells the two claims apart).
 */
function claimArg(token: number, owner: string | undefined): string {
  return owner === undefined ? String(token) : `${token}@${owner}`;
}

/** The claims a claim script's reply names (its format: claim.lua), in candidate order. */
function claimsOf(
  sourceId: string,
  owner: string,
  candidates: Candidate[],
  versions: string[],
  reply: Reply<'claim'>,
): Claim[] {
  const { marks, first, lease, detail } = reply;
  if (marks !== '' && marks.length !== candidates.length) {
    throw new Error(`ledger script claim marked ${marks.length} of ${candidates.length} candidates`);
  }
  const claims: Claim[] = [];
  let issued = 0;
  let at = 0;
  const next = (): number => {
    const value = detail[at++];
    if (value === undefined) throw new Error('ledger script claim sent too little detail');
    return value;
  };
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i];
    if (mark === '.') continue;
    const c = candidates[i] as Candidate;
    const version = versions[i] as string;
    // A new attempt's token comes from the batch's run of tokens; a dry run issues none (0).
    const token = mark === 's' ? next() : first === undefined ? 0 : first + ++issued;
    const tries = mark === 'n' ? 1 : next();
    const attempt = mark === 'n' ? 1 : next();
    const leaseUntil = mark === 's' ? next() : lease;
    claims.push({
      sourceId,
      path: c.path,
      version,
      mtimeMs: c.mtimeMs,
      size: c.size,
      ...(c.exactTime ? { exactTime: true } : {}),
      token,
      owner,
      tries,
      attempt,
      workflowId: fileWorkflowId(sourceId, c.path, version, attempt),
      leaseUntil,
    });
  }
  if (at !== detail.length) throw new Error('ledger script claim sent more detail than its marks name');
  return claims;
}

/**
 * The version and attempt a running file workflow's id names (`<base>@<version>#<attempt>`: the base escapes '@'
 * and '#'), or undefined when the id is not that attempt's of this path.
 */
function attemptOf(sourceId: string, running: RunningAttempt): { version: string; attempt: number } | undefined {
  const id = running.workflowId;
  const hash = id.lastIndexOf('#');
  const at = id.lastIndexOf('@', hash);
  if (hash < 0 || at < 0) return undefined;
  const [version, attempt] = [id.slice(at + 1, hash), Number(id.slice(hash + 1))];
  return Number.isSafeInteger(attempt) && fileWorkflowId(sourceId, running.path, version, attempt) === id
    ? { version, attempt }
    : undefined;
}

function operatorRefusal(refused: Refused): Extract<OperatorResult, { ok: false }>['reason'] {
  const { reason } = refused;
  if (reason === 'missing' || reason === 'not-rejected' || reason === 'not-finished') return reason;
  throw new Error(`ledger: unexpected refusal ${reason} from an operator script`);
}
