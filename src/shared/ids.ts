// Deterministic ids shared by workflows and activities (pure functions: safe in the workflow sandbox).

/** Version of a remote file: its modification time in ms and its size. */
export function fileVersion(mtimeMs: number, size: number): string {
  return `${mtimeMs}-${size}`;
}

// Temporal accepts any UTF-8 id up to 1,000 bytes; we keep ids readable and escape only what would make them
// ambiguous ('@' and '#' separate the parts, '%' escapes) or hard to read (control characters).
// eslint-disable-next-line no-control-regex
const ID_UNSAFE = /[%@#\u0000-\u001f\u007f]/;

function escapeIdPart(part: string): string {
  // Most names need no escape: tested first, they are not copied (a first poll makes thousands of ids).
  if (!ID_UNSAFE.test(part)) return part;
  return part.replace(new RegExp(ID_UNSAFE, 'g'), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Longest `fileWorkflowIdBase` accepted: Temporal refuses workflow ids over 1,000 bytes, and the ledger appends
 * `#<attempt>`. Longer paths are refused at listing (unsafe-name).
 */
export const MAX_WORKFLOW_ID_BYTES = 980;

/** `ftp/<sourceId>/<path>@<mtime>-<size>`: one file version; the ledger appends `#<attempt>`. */
export function fileWorkflowIdBase(sourceId: string, path: string, version: string): string {
  return `ftp/${escapeIdPart(sourceId)}/${escapeIdPart(path.replace(/^\/+/, ''))}@${version}`;
}

/** `ftp/<sourceId>/<path>@<mtime>-<size>#<attempt>`: one workflow per claim attempt (DESIGN.md §3). */
export function fileWorkflowId(sourceId: string, path: string, version: string, attempt: number): string {
  return `${fileWorkflowIdBase(sourceId, path, version)}#${attempt}`;
}

/** Id of the schedule that polls a source. */
export function pollScheduleId(sourceId: string): string {
  return `ftp-poll/${sourceId}`;
}

/** Idempotency key a processor gets: stable for one file version across attempts, workers and clusters. */
export function idempotencyKeyOf(file: { sourceId: string; path: string; version: string }): string {
  return `${file.sourceId}:${file.path}@${file.version}`;
}

/** Id of the child workflow that runs a source's workflow processor for one claim attempt. */
export function processorWorkflowId(fileWorkflowId: string): string {
  return `${fileWorkflowId}/process`;
}

/**
 * The task queue of the polls' listing activity, beside the cluster's task queue and served by the same workers
 * with slots of its own: a listing never waits behind the file activities its earlier rounds queued.
 */
export function pollTaskQueue(taskQueue: string): string {
  return `${taskQueue}:polls`;
}
