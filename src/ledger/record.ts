// Turns the raw hash of a path (all strings, as HGETALL and the scripts return it) into a typed record.
import { STATUSES, type LedgerRecord, type Status } from './types';

export type RawRecord = Record<string, string | undefined>;

const optionalNumber = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : Number(value);

const optionalString = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

function parseStatus(value: string | undefined): Status {
  const status = STATUSES.find((s) => s === value);
  if (!status) throw new Error(`ledger record has an unknown status: ${String(value)}`);
  return status;
}

/** undefined when the path has no record (an empty hash). */
export function parseRecord(sourceId: string, path: string, raw: RawRecord | undefined): LedgerRecord | undefined {
  if (!raw || raw.status === undefined) return undefined;
  const record: LedgerRecord = {
    sourceId,
    path,
    version: raw.version ?? '',
    status: parseStatus(raw.status),
    tries: Number(raw.tries ?? 0),
    mtimeMs: optionalNumber(raw.mtimeMs),
    size: optionalNumber(raw.size),
    attempt: optionalNumber(raw.attempt),
    token: optionalNumber(raw.token),
    owner: optionalString(raw.owner),
    pollRun: optionalString(raw.pollRun),
    leaseUntil: optionalNumber(raw.leaseUntil),
    retryAt: optionalNumber(raw.retryAt),
    lastTryAt: optionalNumber(raw.lastTryAt),
    workflowId: optionalString(raw.workflowId),
    doneAt: optionalNumber(raw.doneAt),
    error: optionalString(raw.error),
    result: optionalString(raw.result),
    missingSince: optionalNumber(raw.missingSince),
    openRuns: optionalNumber(raw.openRuns),
    action: optionalString(raw.action),
  };
  // Absent fields stay absent, so records compare and print cleanly.
  for (const key of Object.keys(record) as (keyof LedgerRecord)[]) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}
