import pino from 'pino';

/**
 * Log levels, from FTP_INGEST_LOG_LEVEL: `trace`, `debug`, `info` (default), `warn`, `error`, `fatal`, `silent`.
 * `info` has one line per file transition (see logFileEvent) plus start/stop lines; `debug` adds every activity
 * start and completion of the Temporal SDK.
 */
export const LOG_LEVEL_ENV = 'FTP_INGEST_LOG_LEVEL';
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LEVELS)[number];

export function logLevelFrom(env: NodeJS.ProcessEnv = process.env): LogLevelName {
  const value = env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  return (LEVELS as readonly string[]).includes(value ?? '') ? (value as LogLevelName) : 'info';
}

/** Keys that never reach a log line: Temporal's base64 task tokens (a credential to complete the activity). */
const DROPPED_KEYS = new Set(['taskToken', 'base64TaskToken']);

export interface SerializedError {
  type: string;
  message: string;
  /** Temporal ApplicationFailure type, or a Node error code. */
  failureType?: string;
  code?: string;
  nonRetryable?: boolean;
  stack?: string;
  cause?: SerializedError;
}

/**
 * An error as plain JSON: its class, message, Temporal failure type and its cause chain (Error's own properties
 * are not enumerable, so a bare `JSON.stringify` gives `{}`).
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { type?: unknown; code?: unknown; nonRetryable?: unknown };
  const out: SerializedError = { type: e.name, message: e.message };
  if (typeof e.type === 'string' && e.type) out.failureType = e.type;
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = String(e.code);
  if (typeof e.nonRetryable === 'boolean') out.nonRetryable = e.nonRetryable;
  if (e.stack) out.stack = e.stack;
  if (e.cause !== undefined && depth < 5) out.cause = serializeError(e.cause, depth + 1) as SerializedError;
  return out;
}

/** Log fields as they may be written: errors serialised, task tokens dropped. */
export function cleanFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (DROPPED_KEYS.has(key)) continue;
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

/** The process logger: JSON lines on stderr (stdout is for command results). Level from FTP_INGEST_LOG_LEVEL. */
export const log = pino(
  {
    name: 'ftp-ingest',
    level: logLevelFrom(),
    serializers: { err: serializeError, error: serializeError },
    redact: { paths: ['taskToken', 'base64TaskToken', '*.taskToken'], remove: true },
  },
  pino.destination({ fd: 2, sync: true }),
);

/** The transitions of a file that get one log line each (`"event": …`). */
export type FileEvent =
  | 'claimed'
  | 'downloaded'
  | 'processed'
  | 'published'
  | 'committed'
  | 'remote-action'
  | 'released'
  | 'rejected'
  | 'superseded';

export interface FileEventFields {
  source: string;
  path: string;
  version?: string;
  token?: number;
  workflowId?: string;
  /** Why (released, rejected, superseded), or what (remote-action: `delete`, `rename-to-dir`). */
  reason?: string;
  [more: string]: unknown;
}

const WARN_EVENTS = new Set<FileEvent>(['released', 'rejected', 'superseded']);

/**
 * One JSON line per file transition, at info (released/rejected/superseded at warn), e.g.
 * `{"level":30,"event":"committed","source":"orders","path":"a.csv","version":"…","token":7,"workflowId":"…","msg":"file committed"}`.
 */
export function logFileEvent(event: FileEvent, fields: FileEventFields): void {
  const line = { event, ...cleanFields(fields) };
  if (WARN_EVENTS.has(event)) log.warn(line, `file ${event}`);
  else log.info(line, `file ${event}`);
}

/**
 * A promise left rejected in the background (a processor's or plugin's stray work) would, by Node's default, end
 * the worker process and every file in flight on it. It is logged instead, with `redact` applied (no configured
 * secret in the log): the run that left it still ends by its own result. Call once in a worker.
 */
export function logStrayRejections(redact: (text: string) => string, counted: () => void = () => undefined): void {
  process.on('unhandledRejection', (reason) => {
    counted();
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    log.error({ reason: redact(text) }, 'unhandled promise rejection (stray background work?): the worker goes on');
  });
}

/** Node's own warnings (deprecations, …) as JSON lines instead of raw text on stderr. Call once in a worker. */
export function routeProcessWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log.warn({ err: warning }, `node warning: ${warning.message}`));
}
