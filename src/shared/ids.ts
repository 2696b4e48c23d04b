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
 * Longest readable id base (`readableIdBase`) of a path that is taken: past it the path is refused at listing
 * (unsafe-name). Temporal's own limit is 1,000 bytes, and a path that long would also pass what a Keyword search
 * attribute (`FtpPath`) may hold.
 */
export const MAX_WORKFLOW_ID_BYTES = 980;

/**
 * Longest id base used as it reads. Temporal on PostgreSQL or MySQL stores workflow ids in 255-character columns
 * (the dev server's SQLite and Cassandra do not), and the ids of a file's attempt and its processor child add
 * `#<attempt>` and `/process`: a longer base keeps the start of its path and ends with a digest of the whole path.
 */
export const READABLE_ID_BASE_BYTES = 200;

/** `ftp/<sourceId>/<path>@<mtime>-<size>`, as it reads, whatever its length. */
export function readableIdBase(sourceId: string, path: string, version: string): string {
  return `ftp/${escapeIdPart(sourceId)}/${escapeIdPart(path.replace(/^\/+/, ''))}@${version}`;
}

/**
 * `ftp/<sourceId>/<path>@<mtime>-<size>`: one file version; the ledger appends `#<attempt>`. Past
 * READABLE_ID_BASE_BYTES: `ftp/<sourceId>/<start of path>~<digest of path>@<mtime>-<size>`.
 */
export function fileWorkflowIdBase(sourceId: string, path: string, version: string): string {
  const readable = readableIdBase(sourceId, path, version);
  if (fitsReadable(readable)) return readable;
  const suffix = `~${digestOf(path)}@${version}`;
  const head = `ftp/${escapeIdPart(sourceId)}/`;
  let start = Array.from(escapeIdPart(path.replace(/^\/+/, '')));
  while (start.length > 0 && utf8Bytes(head + start.join('') + suffix) > READABLE_ID_BASE_BYTES) {
    start = start.slice(0, Math.max(0, start.length - Math.max(1, Math.ceil(start.length / 8))));
  }
  return head + start.join('') + suffix;
}

/** Whether an id base is short enough to use as it reads (a UTF-16 unit is at most 3 bytes of UTF-8). */
function fitsReadable(base: string): boolean {
  if (base.length * 3 <= READABLE_ID_BASE_BYTES) return true; // most ids: no encoding needed
  return base.length <= READABLE_ID_BASE_BYTES && utf8Bytes(base) <= READABLE_ID_BASE_BYTES;
}

/** Bytes of a string in UTF-8 (no Buffer: this module runs in the workflow sandbox too). */
function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * 28 hex digits of two independent 53-bit string hashes (cyrb53, public domain): pure JavaScript, the same in
 * every process and release. Two long paths of one source share an id only if both hashes collide too.
 */
function digestOf(text: string): string {
  return (
    cyrb53(text, 0x9e3779b1).toString(16).padStart(14, '0') + cyrb53(text, 0x85ebca77).toString(16).padStart(14, '0')
  );
}

function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
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
