// Arguments and results of the workflows and their activities: only ids, paths, sizes, versions, tokens,
// counters and short results ever enter workflow history (DESIGN.md §7).
import type { Claim } from '../ledger/types';

/** A file version claimed in the ledger for one attempt: the ledger's claim without its lease time. */
export type ClaimedFile = Omit<Claim, 'leaseUntil'>;

/** Per-source settings the file workflow needs for its activity options (from config, on the worker side). */
export interface FilePlan {
  heartbeatTimeoutMs: number;
  activityMaxIntervalMs: number;
  /** Bounds one run of download or process that keeps heartbeating. */
  activityTimeoutMs: number;
  /** False when each worker host has its own workDir: process and publish then run on the downloading host. */
  sharedWorkDir: boolean;
  /** Bounds one run of process (absent in runs recorded before it existed: activityTimeoutMs). */
  processTimeoutMs?: number;
  /** The source deletes or renames the remote file after the commit. */
  remoteAction?: boolean;
  /** The source's processor is a workflow (a plugin's): the file workflow runs it as a child instead of processFile. */
  processorWorkflow?: ProcessorWorkflowPlan;
  /**
   * Files up to this size take the small-file fast path: download, process and publish as one local activity.
   * Absent when the source's `smallFileMaxBytes` is 0 (off), so plans (and histories) stay as they were.
   */
  smallFileMaxBytes?: number;
  /**
   * The patches its runs take without their markers (src/shared/patch-level.ts). Absent in plans made by releases
   * before it: those runs decide each patch by its marker.
   */
  patchLevel?: number;
}

/** A workflow processor as the file workflow runs it: its workflow type and the source's options for it. */
export interface ProcessorWorkflowPlan {
  name: string;
  options: Record<string, unknown>;
}

/**
 * What a workflow processor gets (its only argument). Like a processor's context, without the functions: it
 * is workflow input, stored in history.
 */
export interface WorkflowProcessorInput<Options = Record<string, unknown>> {
  file: {
    sourceId: string;
    path: string;
    version: string;
    mtimeMs: number;
    size: number;
  };
  /**
   * The downloaded copy, relative to the workDir of the host that holds it. The workflow runs on that host's task
   * queue, so its activities run there too; they turn it into an absolute path with the plugin activity context's
   * `localFile(localPath)`.
   */
  localPath: string;
  /** Stable for this file version across attempts and clusters. */
  idempotencyKey: string;
  /** Fencing token of the claim this run works for. */
  token: number;
  options: Options;
}

export interface PollWorkflowInput {
  sourceId: string;
  /**
   * The patches the poll takes without markers before its first listing brings a plan (src/shared/patch-level.ts).
   * Absent in the Schedules and polls of releases before it.
   */
  patchLevel?: number;
}

export interface ListAndClaimInput {
  sourceId: string;
  /** Run id of the poll workflow: a retried listing claims the same files again with the same tokens. */
  pollRun: string;
  /**
   * The poll's first run id (the same in the runs it continues as new): its later rounds claim from the listing
   * of its first. Absent from polls of older code: their rounds share a run id.
   */
  pollId?: string;
}

export interface ListAndClaimResult {
  listed: number;
  filteredOut: Record<string, number>;
  skipped: Record<string, number>;
  /** Files turned REJECTED by this poll (unsafe names, max tries reached, vanished). */
  rejected: number;
  /** Owed remote actions this poll finished for workflows that did not (their cluster may be gone). */
  remoteActions?: number;
  /** At most maxAcceptPerPoll entries. */
  claims: ClaimedFile[];
  plan: FilePlan;
  /** The source's cap: a poll that claimed this many claims again (absent in results recorded before). */
  maxAcceptPerPoll?: number;
  /**
   * Set when candidates were left unclaimed because this cluster has maxInFlight files of the source in
   * progress: the source's poll interval. The poll may wait for room and claim again until shortly before its
   * Schedule's next poll.
   */
  roomWaitMs?: number;
}

export interface PollSummary extends Omit<ListAndClaimResult, 'claims' | 'plan' | 'maxAcceptPerPoll' | 'roomWaitMs'> {
  sourceId: string;
  claimed: number;
  started: number;
  /** Children whose workflow id already existed: a retried poll, nothing to do. */
  alreadyStarted: number;
  /** Children the server had not started when the poll stopped waiting (a later poll takes their claims over). */
  startPending?: number;
  /** Listings of this run: more than one when a listing claimed maxAcceptPerPoll files (a backlog). */
  rounds?: number;
  /** Rounds that found the cluster at maxInFlight and waited for room before claiming again. */
  roomWaits?: number;
}

export interface FileWorkflowInput {
  file: ClaimedFile;
  plan: FilePlan;
}

export interface DownloadedFile {
  /** Local file, relative to the worker's workDir. */
  localPath: string;
  bytes: number;
  /** Bytes that were already on disk from an earlier run of this attempt. */
  resumedFrom: number;
  /** Task queue of the worker host that holds the file (used when the workDir is not shared). */
  hostTaskQueue: string;
}

export interface ProcessResult {
  processor: string;
  /** The processor's short JSON result. */
  result: Record<string, unknown>;
}

export interface PublishResult {
  /** The published file, relative to processedDir: `<source>/<dir>/@<mtimeMs>-<size>/<name>`. */
  processedPath: string;
}

/** Runs only in histories recorded before publish-before-commit: publish + remote action after the commit. */
export interface MoveResult extends PublishResult {
  remoteAction: string;
}

export type FileOutcome = 'done' | 'superseded' | 'released' | 'rejected';

export interface FileWorkflowResult {
  outcome: FileOutcome;
  path: string;
  version: string;
  token: number;
  tries: number;
  result?: Record<string, unknown>;
  error?: string;
}

export interface ReleaseInput {
  file: ClaimedFile;
  error: string;
  /** Reject at once (bad input that no retry can fix) instead of waiting for retryTimeout. */
  permanent: boolean;
}

export interface ReleaseOutcome {
  status: 'RETRY_WAIT' | 'REJECTED' | 'superseded';
}

/** Error types that the activities raise as non-retryable ApplicationFailures. */
export const ErrorTypes = {
  /** The claim's fencing token no longer owns the ledger record: another attempt took over. */
  claimLost: 'ClaimLost',
  /** The input can never succeed (bad name, processor's permanent error): reject without more tries. */
  permanent: 'PermanentFileError',
  /** This attempt failed for good (retries used up, remote file changed or gone): release for a later try. */
  attemptFailed: 'AttemptFailed',
  /** The file ended REJECTED: its workflow fails with this type, so the Web UI's Failures view lists it. */
  rejected: 'FileRejected',
  /** A poll cannot list its source (bad login, missing directory): the environment, not a file. */
  sourceUnavailable: 'SourceUnavailable',
} as const;

/**
 * Why a file ended REJECTED or an attempt failed: the first word of the ledger's `error` (`<reason>: detail`).
 */
export const Reasons = {
  unsafeName: 'unsafe-name',
  vanished: 'vanished',
  processTimeout: 'process-timeout',
  crashLoop: 'crash-loop',
  typeConflict: 'type-conflict',
  maxTries: 'max tries reached',
} as const;
