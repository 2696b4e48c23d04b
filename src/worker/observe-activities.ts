// Sees every activity this worker runs, from outside the activities: one log line per file transition and the
// product's metrics, read from each activity's input and result. Activities need no logging or metrics code of
// their own for these; the fields are read defensively so that a changed activity signature only loses detail.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { logFileEvent, type FileEventFields } from '../log';
import { metrics } from '../observability/metrics';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The claimed file an activity works on (`{ file }` argument of the file activities). */
function fileOf(input: unknown): Obj | undefined {
  return isObj(input) && isObj(input.file) ? input.file : undefined;
}

function fileFields(file: Obj, workflowId: string): FileEventFields {
  return {
    source: str(file.sourceId) ?? 'unknown',
    path: str(file.path) ?? '',
    version: str(file.version),
    token: num(file.token),
    workflowId: str(file.workflowId) ?? workflowId,
  };
}

function errorReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const type = (err as Error & { type?: unknown }).type;
  return typeof type === 'string' && type ? type : err.name;
}

/** The activity interceptor of the ingest worker (WorkerOptions.interceptors.activity). */
export const observeActivities: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const { activityType } = ctx.info;
      const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
      const arg: unknown = input.args[0];
      const file = fileOf(arg);
      const source = str(file?.sourceId) ?? (isObj(arg) ? str(arg.sourceId) : undefined) ?? 'unknown';
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      const ended = file ? metrics.fileActivityStarted(source, activityType) : undefined;
      try {
        const result = await next(input);
        safely(() => onSuccess(activityType, source, workflowId, arg, file, result, seconds()));
        return result;
      } catch (err) {
        safely(() => onFailure(activityType, source, err, seconds()));
        throw err;
      } finally {
        ended?.();
      }
    },
  },
});

// Observability must never fail an activity.
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored
  }
}

function onSuccess(
  activityType: string,
  source: string,
  workflowId: string,
  arg: unknown,
  file: Obj | undefined,
  result: unknown,
  seconds: number,
): void {
  const res = isObj(result) ? result : {};
  const fields = file ? fileFields(file, workflowId) : undefined;
  switch (activityType) {
    case 'listAndClaim': {
      const claims = Array.isArray(res.claims) ? res.claims.filter(isObj) : [];
      metrics.claimBatchLatency(source, seconds);
      metrics.pollSucceeded(source);
      metrics.filesClaimed(source, claims.length);
      const rejected = num(res.rejected) ?? 0;
      for (let i = 0; i < rejected; i++) metrics.fileRejected(source, 'at-poll');
      for (const claim of claims) logFileEvent('claimed', { ...fileFields(claim, ''), tries: num(claim.tries) });
      return;
    }
    case 'downloadFile': {
      const bytes = num(res.bytes) ?? 0;
      const resumedFrom = num(res.resumedFrom) ?? 0;
      metrics.downloadDuration(source, seconds);
      metrics.bytesDownloaded(source, bytes - resumedFrom);
      if (fields) logFileEvent('downloaded', { ...fields, bytes, resumedFrom, seconds: round(seconds) });
      return;
    }
    case 'processFile':
      return onProcessed(source, fields, res, seconds);
    case 'downloadProcessPublish':
      // The small-file fast path: one event for the three steps (the file is downloaded whole, then published).
      metrics.bytesDownloaded(source, num(file?.size) ?? 0);
      return onProcessed(source, fields, res, seconds, { fastPath: true });
    case 'commitFile':
      if (res.alreadyCommitted !== true) metrics.fileCommitted(source);
      if (fields) logFileEvent('committed', { ...fields, alreadyCommitted: res.alreadyCommitted === true });
      return;
    case 'publishFile':
      if (fields) logFileEvent('published', { ...fields, processedPath: str(res.processedPath) });
      return;
    case 'finishRemoteAction': {
      const action = str(result);
      if (fields && action && action !== 'none') logFileEvent('remote-action', { ...fields, reason: action });
      return;
    }
    case 'moveFile': {
      if (fields) logFileEvent('published', { ...fields, processedPath: str(res.processedPath) });
      const action = str(res.remoteAction);
      if (fields && action && action !== 'none') logFileEvent('remote-action', { ...fields, reason: action });
      return;
    }
    case 'releaseFile': {
      const reason = isObj(arg) ? str(arg.error) : undefined;
      const status = str(res.status);
      if (status === 'REJECTED') metrics.fileRejected(source, reason);
      else if (status === 'RETRY_WAIT') metrics.fileReleased(source, reason);
      else metrics.fileSuperseded(source);
      const event = status === 'REJECTED' ? 'rejected' : status === 'RETRY_WAIT' ? 'released' : 'superseded';
      if (fields) logFileEvent(event, { ...fields, reason, tries: num(file?.tries) });
      return;
    }
    default:
      return;
  }
}

function onProcessed(
  source: string,
  fields: FileEventFields | undefined,
  res: Obj,
  seconds: number,
  extra: { fastPath?: true } = {},
): void {
  metrics.processDuration(source, seconds);
  if (fields)
    logFileEvent('processed', { ...fields, processor: str(res.processor), seconds: round(seconds), ...extra });
}

function onFailure(activityType: string, source: string, err: unknown, seconds: number): void {
  switch (activityType) {
    case 'listAndClaim':
      metrics.pollFailed(source, errorReason(err));
      return;
    case 'downloadFile':
      metrics.downloadDuration(source, seconds, 'error');
      return;
    case 'processFile':
    case 'downloadProcessPublish':
      metrics.processDuration(source, seconds, 'error');
      return;
    default:
      return;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
