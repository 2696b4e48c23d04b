/** Identity of the file version a processor works on. */
export interface FileIdentity {
  sourceId: string;
  /** Remote path, normalized, relative to the source's remoteDir. */
  path: string;
  /** `<mtimeMs>-<size>` */
  version: string;
  mtimeMs: number;
  size: number;
}

/** What a processor reports while it runs; shown in the Temporal UI as the activity's heartbeat details. */
export interface Progress {
  done: number;
  total: number;
  unit: string;
}

export interface ProcessorContext<Checkpoint = unknown> {
  /** Downloaded, size-verified local copy of the remote file. Read it; do not move it. */
  readonly localPath: string;
  readonly file: FileIdentity;
  /** Stable for this file version across retries, workers and clusters: use it to make your own effects idempotent. */
  readonly idempotencyKey: string;
  /** Fencing token of the claim this run works for; pass it to downstream systems that can reject stale writers. */
  readonly token: number;
  /** Last checkpoint saved through `heartbeat` by an earlier run of this attempt, if any: resume from it. */
  readonly checkpoint: Checkpoint | undefined;
  /** The processor's `options` from the source's config. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Reports progress, and saves a checkpoint that survives a crash of this worker. */
  heartbeat(progress: Progress, checkpoint?: Checkpoint): void;
  /** Aborted when the activity is cancelled, times out, or the claim is lost to another attempt. */
  readonly signal: AbortSignal;
}

/**
 * A processor turns one downloaded file into a short JSON result, stored in the ledger with the commit.
 * It may run more than once for the same file version (at-least-once): keep its effects idempotent.
 */
export type Processor<Result extends object = object, Checkpoint = unknown> = (
  ctx: ProcessorContext<Checkpoint>,
) => Promise<Result>;

/** A processor of any result and checkpoint type, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- checkpoints are opaque to the registry
export type AnyProcessor = Processor<object, any>;

/** Thrown by a processor for input it can never process: the file is rejected at once, without retries. */
export class PermanentProcessorError extends Error {
  override readonly name = 'PermanentProcessorError';
}
