// Turns a record into a typed one: from a script's reply (a Lua table as JSON, all strings) or from the packed
// form the `records` hash stores (common.lua packs it).
import { fileWorkflowId } from '../shared/ids';
import { STATUSES, type LedgerRecord, type Status } from './types';

export type RawRecord = Record<string, string | undefined>;

/** The fields of a packed record, in order: the same list as RECORD_FIELDS in scripts/common.lua. */
const RECORD_FIELDS = [
  'status',
  'version',
  'owner',
  'leaseUntil',
  'pollRun',
  'tries',
  'attempt',
  'token',
  'doneAt',
  'rejectedAt',
  'lastTryAt',
  'action',
  'error',
  'result',
  'retryAt',
  'missingSince',
  'openRuns',
] as const;

const STATUS_NAMES: Record<string, Status> = { I: 'IN_PROGRESS', D: 'DONE', R: 'REJECTED', W: 'RETRY_WAIT' };

// Only '|' and '%' are escaped, so every '%' of a stored value starts one of these two escapes.
const unescape = (value: string): string =>
  value.includes('%') ? value.replace(/%(7C|25)/g, (_, hex: string) => (hex === '7C' ? '|' : '%')) : value;

/** The packed value of a path in the `records` hash as a raw record (undefined: no record). */
export function unpackRecord(packed: string | null | undefined): RawRecord | undefined {
  if (packed === null || packed === undefined) return undefined;
  const raw: RawRecord = {};
  packed.split('|').forEach((value, i) => {
    const field = RECORD_FIELDS[i];
    if (field !== undefined && value !== '') raw[field] = unescape(value);
  });
  raw.status = raw.status === undefined ? undefined : STATUS_NAMES[raw.status];
  return raw;
}

const optionalNumber = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : Number(value);

const optionalString = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

function parseStatus(value: string | undefined): Status {
  const status = STATUSES.find((s) => s === value);
  if (!status) throw new Error(`ledger record has an unknown status: ${String(value)}`);
  return status;
}

/** undefined when the path has no record. */
export function parseRecord(sourceId: string, path: string, raw: RawRecord | undefined): LedgerRecord | undefined {
  if (!raw || raw.status === undefined) return undefined;
  const status = parseStatus(raw.status);
  const version = raw.version ?? '';
  // The version is `<mtimeMs>-<size>` (fileVersion): the record does not store them twice.
  const parsed = /^(\d+)-(\d+)$/.exec(version);
  const attempt = optionalNumber(raw.attempt);
  // No record stores its attempt's workflow id: it is the file's id base and the attempt (DESIGN.md §3).
  const workflowId = attempt === undefined ? undefined : fileWorkflowId(sourceId, path, version, attempt);
  const record: LedgerRecord = {
    sourceId,
    path,
    version,
    status,
    tries: Number(raw.tries ?? 0),
    mtimeMs: parsed ? Number(parsed[1]) : undefined,
    size: parsed ? Number(parsed[2]) : undefined,
    attempt,
    token: optionalNumber(raw.token),
    owner: optionalString(raw.owner),
    pollRun: optionalString(raw.pollRun),
    leaseUntil: optionalNumber(raw.leaseUntil),
    retryAt: optionalNumber(raw.retryAt),
    lastTryAt: optionalNumber(raw.lastTryAt),
    workflowId,
    doneAt: optionalNumber(raw.doneAt),
    rejectedAt: optionalNumber(raw.rejectedAt),
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
