// Types of the claim ledger's API (DESIGN.md §4).

export const STATUSES = ['IN_PROGRESS', 'DONE', 'REJECTED', 'RETRY_WAIT'] as const;
export type Status = (typeof STATUSES)[number];

/** A listed remote file; `path` is already normalized and checked safe by the caller. */
export interface Candidate {
  path: string;
  mtimeMs: number;
  size: number;
  /**
   * The listing gave the time to the second or better (MLSD, MDTM, SFTP): the download checks it again once
   * every byte is on disk. Absent for minute or day times (LIST alone) and in claims recorded before.
   */
  exactTime?: boolean;
}

/** What to do with a modified file (a new version) of a path that is DONE or REJECTED. */
export type VersionPolicy = 'reprocess' | 'ignore';

export interface ClaimBatchOptions {
  clusterId: string;
  /** Id of the poll run: a retried listing with the same id gets back the same claims and tokens. */
  pollRun: string;
  leaseMs: number;
  maxTries: number;
  maxAcceptPerPoll: number;
  maxInFlight: number;
  versionPolicy: VersionPolicy;
  /** Write nothing; report what would be claimed and why each other candidate would not be. */
  dryRun?: boolean;
  /**
   * How long ago the listing of the candidates began. A record of another version claimed or finished since then
   * is not taken over by this listing's version (skip reason `stale-listing`): the next listing decides.
   */
  listedAgoMs?: number;
}

/** One claim attempt of one file version. */
export interface Claim {
  sourceId: string;
  path: string;
  version: string;
  mtimeMs: number;
  size: number;
  /** See Candidate.exactTime. */
  exactTime?: boolean;
  /** Fencing token: only this attempt may renew, commit, release or reject. */
  token: number;
  /**
   * The cluster the claim was made for, checked with the token by the fenced calls. Absent in the input of a file
   * workflow started by an earlier release.
   */
  owner?: string;
  /** Claims of this version since it was new or last reset by an operator; REJECTED at maxTries. */
  tries: number;
  /** Claims of this version ever (never reset): names the attempt in `workflowId`, so each id is new. */
  attempt: number;
  /** `<fileWorkflowIdBase>#<attempt>` (the ledger names each attempt's workflow). */
  workflowId: string;
  leaseUntil: number;
}

/** A claim attempt whose file workflow is still running. */
export interface RunningAttempt {
  path: string;
  workflowId: string;
}

/** Why a candidate was not claimed, as counted in `ClaimBatchResult.skipped`. */
export type SkipReason =
  'done' | 'rejected' | 'in-flight' | 'leased' | 'retry-wait' | 'stale-listing' | 'cap' | 'duplicate';

export interface RejectedFile {
  path: string;
  version: string;
  tries: number;
  error: string;
}

export interface ClaimBatchResult {
  claims: Claim[];
  skipped: Partial<Record<SkipReason, number>>;
  /** Candidates this call turned REJECTED (max tries reached). */
  rejected: RejectedFile[];
  /** Dry run only: one entry per candidate. */
  decisions?: ClaimDecision[];
}

/** What a claim does (or, in a dry run, would do) with one candidate. */
export interface ClaimDecision {
  path: string;
  decision: 'claim' | 'skip' | 'reject';
  /**
   * For a claim: new | retry | restart (a lapsed attempt that never began a run: no try) | same-run; for a skip:
   * a SkipReason; for a reject: max-tries.
   */
  reason: string;
}

export type BeginRunResult =
  | { ok: true; leaseUntil: number; crashes: number }
  | { ok: false; reason: 'crash-loop'; crashes: number }
  | FenceFailure;

export interface VanishResult {
  /** Paths this call turned REJECTED ('vanished'). */
  vanished: string[];
  /** Paths missing from the listing whose clock is running. */
  waiting: number;
}

/** The outcome of a source's last polls, in Redis time (ms). */
export interface SourceHealth {
  ok: boolean;
  lastPollAt: number;
  lastOkAt?: number;
  lastErrorAt?: number;
  listed?: number;
  error?: string;
  /** Per cluster that has some: its running file workflows whose workflow tasks keep failing (last renewal). */
  failingWorkflows?: FailingWorkflows[];
}

/** A cluster's file workflows of a source that Temporal flags with failing workflow tasks. */
export interface FailingWorkflows {
  cluster: string;
  count: number;
  /** One of them, to look up in the Web UI. */
  example: string;
  /** When the cluster last counted them (Redis time, ms). */
  at: number;
  /**
   * Set by `status` when the cluster has not counted them for as long as makes a source's polls late: it stopped
   * polling the source, so its leases lapse and other clusters take the files over.
   */
  stale?: boolean;
}

/** The record of one remote path. Times are Redis server time in ms since the epoch. */
export interface LedgerRecord {
  sourceId: string;
  path: string;
  version: string;
  status: Status;
  tries: number;
  mtimeMs?: number;
  size?: number;
  attempt?: number;
  /** Absent on records that never had a claim (unsafe names). */
  token?: number;
  /** Cluster id of the last claim. */
  owner?: string;
  pollRun?: string;
  leaseUntil?: number;
  retryAt?: number;
  lastTryAt?: number;
  workflowId?: string;
  doneAt?: number;
  /** REJECTED only: when it was rejected (retention counts from it). */
  rejectedAt?: number;
  error?: string;
  result?: string;
  /** When a sweep first found this unfinished record missing from the listing. */
  missingSince?: number;
  /** Runs of a long step of the current attempt that have not ended (crashed or still running). */
  openRuns?: number;
  /** DONE only: 'pending' while the remote action is owed, then its outcome. */
  action?: string;
}

/** The long steps whose runs the ledger counts (begin-run.lua, end-run.lua). */
export type RunStep = 'download' | 'process';

/** Why a fenced call was refused. */
export type FenceFailureReason = 'missing' | 'superseded' | 'not-in-progress';

export interface FenceFailure {
  ok: false;
  reason: FenceFailureReason;
  /** The record as it is (unchanged by the refused call). */
  record?: LedgerRecord;
}

export type RenewResult = { ok: true; leaseUntil: number } | FenceFailure;

export type FenceResult = { ok: true; alreadyCommitted: boolean; record: LedgerRecord } | FenceFailure;

export type ReleaseResult = { ok: true; status: 'RETRY_WAIT' | 'REJECTED'; record: LedgerRecord } | FenceFailure;

export interface ReleaseOptions {
  retryDelayMs: number;
  maxTries: number;
  /** The claim's cluster (Claim.owner), checked with the token. */
  owner?: string;
}

export interface RejectUnsafeResult {
  /** False when this version was already REJECTED or DONE: nothing changed, no dead letter added. */
  recorded: boolean;
  record: LedgerRecord;
}

export type OperatorResult =
  | { ok: true; record: LedgerRecord }
  | { ok: false; reason: 'missing' | 'not-rejected' | 'not-finished'; record?: LedgerRecord };

export interface ListOptions {
  status?: Status;
  /** From the previous page; '0' (the default) starts a scan. */
  cursor?: string;
  /** SSCAN COUNT hint per page (default 100). */
  count?: number;
}

export interface ListPage {
  records: LedgerRecord[];
  /** '0' when the scan is complete. */
  cursor: string;
}

export interface DeadLetter {
  /** Stream entry id (its first part is the server time in ms). */
  id: string;
  path: string;
  version: string;
  tries: number;
  error: string;
  owner: string;
  workflowId: string;
}

/** The size of one source's ledger (`ftp-ingest ledger-size`). */
export interface LedgerSize {
  /** Paths with a record. */
  records: number;
  /** Records with a deadline (in flight, waiting for a retry, remote action owed). */
  unfinished: number;
  /** DONE or REJECTED records (forgotten once their file is gone for `forgetAfter`). */
  finished: number;
  /** Paths remembered for the stable-size check. */
  seen: number;
  deadLetters: number;
  /** Redis memory of the source's records hash per record (MEMORY USAGE's sampled estimate). */
  bytesPerRecord: number;
}
