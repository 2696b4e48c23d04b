// The cross-cluster accept-once ledger (DESIGN.md §4): every transition is one Lua script on Redis; this class
// only builds keys and arguments, and types the replies. Reads (get, list, counts) need no atomicity.
import { fileVersion, fileWorkflowIdBase } from '../workflows/ids';
import { assertPrefix, DEFAULT_PREFIX, sourceKeys, type SourceKeys } from './keys';
import { parseRecord, type RawRecord } from './record';
import { registerScripts, type RedisClient, type RunScript } from './scripts';
import { assertClaimOptions, assertLeaseMs, assertReleaseOptions, assertToken, dedupeCandidates } from './validate';
import {
  STATUSES,
  type Candidate,
  type Claim,
  type ClaimBatchOptions,
  type ClaimBatchResult,
  type DeadLetter,
  type FenceFailure,
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
}

interface ClaimReply {
  claims: Omit<Claim, 'sourceId'>[] | Record<string, never>;
  skipped: ClaimBatchResult['skipped'];
  rejected: RejectedFile[] | Record<string, never>;
}

interface RecordReply {
  ok?: boolean;
  reason?: string;
  record?: RawRecord;
  [field: string]: unknown;
}

// cjson encodes an empty Lua table as {}, never [].
const asArray = <T>(value: T[] | Record<string, never>): T[] => (Array.isArray(value) ? value : []);

export class Ledger {
  private readonly run: RunScript;
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    options: LedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    assertPrefix(this.prefix);
    this.run = registerScripts(redis);
  }

  /** Every key name the ledger uses for a source (and for `path`, its file hash). */
  keys(sourceId: string, path?: string): string[] {
    const k = this.sourceKeys(sourceId);
    return [k.token, k.paths, k.inflight, k.dlq, k.seen, k.stats, ...(path === undefined ? [] : [k.file(path)])];
  }

  /** Claims what the rules allow of one listing, in its order, in one script (see DESIGN.md §4). */
  async claimBatch(sourceId: string, candidates: Candidate[], opts: ClaimBatchOptions): Promise<ClaimBatchResult> {
    assertClaimOptions(opts);
    const { unique, duplicates } = dedupeCandidates(candidates);
    const extra: ClaimBatchResult['skipped'] = duplicates > 0 ? { duplicate: duplicates } : {};
    if (unique.length === 0) return { claims: [], skipped: extra, rejected: [] };

    const k = this.sourceKeys(sourceId);
    const keys = [k.token, k.paths, k.inflight, k.dlq, ...unique.map((c) => k.file(c.path))];
    const head = [opts.clusterId, opts.pollRun, opts.leaseMs, opts.maxTries, opts.maxAcceptPerPoll, opts.maxInFlight];
    const perCandidate = unique.flatMap((c) => {
      const version = fileVersion(c.mtimeMs, c.size);
      return [c.path, version, c.mtimeMs, c.size, fileWorkflowIdBase(sourceId, c.path, version)];
    });
    const reply = (await this.run('claim', keys, [...head, opts.versionPolicy, ...perCandidate])) as ClaimReply;
    return {
      claims: asArray(reply.claims).map((claim) => ({ sourceId, ...claim })),
      skipped: { ...reply.skipped, ...extra },
      rejected: asArray(reply.rejected),
    };
  }

  /** Extends the lease while `token` still owns the IN_PROGRESS record. */
  async renew(sourceId: string, path: string, token: number, leaseMs: number): Promise<RenewResult> {
    assertToken(token);
    assertLeaseMs(leaseMs);
    const reply = await this.runOnFile('renew', sourceId, path, [], [token, leaseMs]);
    if (reply.ok) return { ok: true, leaseUntil: Number(reply.leaseUntil) };
    return this.fenceFailure(sourceId, path, reply);
  }

  /** The fenced commit; a repeat by the same token succeeds again with `alreadyCommitted`. */
  async commit(sourceId: string, path: string, token: number, result?: string): Promise<FenceResult> {
    assertToken(token);
    const k = this.sourceKeys(sourceId);
    const reply = await this.runOnFile('commit', sourceId, path, [k.inflight, k.stats], [token, result ?? '']);
    if (!reply.ok) return this.fenceFailure(sourceId, path, reply);
    return { ok: true, alreadyCommitted: reply.alreadyCommitted === true, record: this.record(sourceId, path, reply) };
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
    const args = [path, token, error, opts.retryDelayMs, opts.maxTries];
    const reply = await this.runOnFile('release', sourceId, path, [k.inflight, k.dlq], args);
    return this.releaseResult(sourceId, path, reply);
  }

  /** Fenced: the attempt failed in a way no retry can fix → REJECTED with one dead letter. */
  async reject(sourceId: string, path: string, token: number, error: string): Promise<ReleaseResult> {
    assertToken(token);
    const k = this.sourceKeys(sourceId);
    const reply = await this.runOnFile('reject', sourceId, path, [k.inflight, k.dlq], [path, token, error]);
    return this.releaseResult(sourceId, path, reply);
  }

  /** Unfenced: records an unsafe remote name as REJECTED (tries 0), dead-lettered once per version. */
  async rejectUnsafe(sourceId: string, path: string, version: string, error: string): Promise<RejectUnsafeResult> {
    const k = this.sourceKeys(sourceId);
    // The version is `<mtimeMs>-<size>` (fileVersion); both are kept on the record when it parses.
    const parsed = /^(\d+)-(\d+)$/.exec(version);
    const [mtimeMs, size] = [parsed?.[1] ?? '', parsed?.[2] ?? ''];
    const keys = [k.paths, k.inflight, k.dlq];
    const reply = await this.runOnFile('rejectUnsafe', sourceId, path, keys, [path, version, mtimeMs, size, error]);
    return { recorded: reply.recorded === true, record: this.record(sourceId, path, reply) };
  }

  /** Operator: REJECTED → RETRY_WAIT due now with a fresh budget of tries. */
  async retryRejected(sourceId: string, path: string): Promise<OperatorResult> {
    return this.operatorResult(sourceId, path, await this.runOnFile('retryRejected', sourceId, path, [], []));
  }

  /** Operator `--reprocess`: DONE or REJECTED → RETRY_WAIT due now, so the same version runs again. */
  async reprocess(sourceId: string, path: string): Promise<OperatorResult> {
    return this.operatorResult(sourceId, path, await this.runOnFile('reprocess', sourceId, path, [], []));
  }

  /**
   * Extends the leases of this cluster's claims whose file workflows are running (the attempt named by its
   * workflow id must still be the record's current one). Returns how many were extended.
   */
  async renewRunning(sourceId: string, clusterId: string, running: RunningAttempt[], leaseMs: number): Promise<number> {
    if (running.length === 0) return 0;
    const k = this.sourceKeys(sourceId);
    const keys = running.map((r) => k.file(r.path));
    const args = [clusterId, leaseMs, ...running.map((r) => r.workflowId)];
    return Number(await this.run('renewRunning', keys, args));
  }

  /**
   * Records the version of each listed file and returns the paths whose version equals the one seen at the
   * previous poll of this source (by any cluster): a file still being uploaded is not taken yet.
   */
  async observeVersions(sourceId: string, candidates: Candidate[]): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const args = candidates.flatMap((c) => [c.path, fileVersion(c.mtimeMs, c.size)]);
    const reply = (await this.run('observe', [this.sourceKeys(sourceId).seen], args)) as string[] | object;
    return new Set(Array.isArray(reply) ? (reply as string[]) : []);
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

  async get(sourceId: string, path: string): Promise<LedgerRecord | undefined> {
    const raw = await this.redis.hgetall(this.sourceKeys(sourceId).file(path));
    return parseRecord(sourceId, path, raw);
  }

  /** One SSCAN page of the source's records (a page may hold fewer than `count` when filtered by status). */
  async list(sourceId: string, opts: ListOptions = {}): Promise<ListPage> {
    const k = this.sourceKeys(sourceId);
    const [cursor, paths] = await this.redis.sscan(k.paths, opts.cursor ?? '0', 'COUNT', opts.count ?? 100);
    const records = await this.getMany(sourceId, paths);
    return { records: records.filter((r) => !opts.status || r.status === opts.status), cursor };
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

  /** The newest `count` dead letters, newest first. */
  async deadLetters(sourceId: string, count = 100): Promise<DeadLetter[]> {
    const entries = await this.redis.xrevrange(this.sourceKeys(sourceId).dlq, '+', '-', 'COUNT', count);
    return entries.map(([id, flat]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] ?? '', flat[i + 1] ?? '');
      const field = (name: string): string => f.get(name) ?? '';
      const tries = Number(field('tries'));
      return {
        id,
        path: field('path'),
        version: field('version'),
        tries,
        error: field('error'),
        owner: field('owner'),
        workflowId: field('workflowId'),
      };
    });
  }

  private sourceKeys(sourceId: string): SourceKeys {
    return sourceKeys(this.prefix, sourceId);
  }

  // Scripts on one path take its file hash first, then the source keys they need.
  private async runOnFile(
    name: Parameters<RunScript>[0],
    sourceId: string,
    path: string,
    otherKeys: string[],
    args: (string | number)[],
  ): Promise<RecordReply> {
    const fileKey = this.sourceKeys(sourceId).file(path);
    return (await this.run(name, [fileKey, ...otherKeys], args)) as RecordReply;
  }

  private async getMany(sourceId: string, paths: string[]): Promise<LedgerRecord[]> {
    if (paths.length === 0) return [];
    const k = this.sourceKeys(sourceId);
    const pipeline = this.redis.pipeline();
    for (const path of paths) pipeline.hgetall(k.file(path));
    const replies = (await pipeline.exec()) ?? [];
    return paths.flatMap((path, i) => {
      const [err, raw] = replies[i] ?? [new Error('no reply'), undefined];
      if (err) throw err;
      return parseRecord(sourceId, path, raw as RawRecord) ?? [];
    });
  }

  private record(sourceId: string, path: string, reply: RecordReply): LedgerRecord {
    const record = parseRecord(sourceId, path, reply.record);
    if (!record) throw new Error(`ledger script returned no record for ${path}`);
    return record;
  }

  private fenceFailure(sourceId: string, path: string, reply: RecordReply): FenceFailure {
    const record = parseRecord(sourceId, path, reply.record);
    const reason = reply.reason as FenceFailure['reason'];
    return record ? { ok: false, reason, record } : { ok: false, reason };
  }

  private releaseResult(sourceId: string, path: string, reply: RecordReply): ReleaseResult {
    if (!reply.ok) return this.fenceFailure(sourceId, path, reply);
    const status = reply.status as 'RETRY_WAIT' | 'REJECTED';
    return { ok: true, status, record: this.record(sourceId, path, reply) };
  }

  private operatorResult(sourceId: string, path: string, reply: RecordReply): OperatorResult {
    const record = parseRecord(sourceId, path, reply.record);
    if (reply.ok && record) return { ok: true, record };
    const reason = reply.reason as Extract<OperatorResult, { ok: false }>['reason'];
    return record ? { ok: false, reason, record } : { ok: false, reason };
  }
}
