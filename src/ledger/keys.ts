// Key names of the ledger (DESIGN.md §4). Every key of a source carries the hash tag `{<sourceId>}`, so all keys
// one script touches live in one Redis Cluster slot.

export const DEFAULT_PREFIX = 'ftpi';

/** The keys of one source. */
export interface SourceKeys {
  /** INCR counter issuing fencing tokens, shared by all clusters. */
  token: string;
  /** HASH path → packed record (record.ts; common.lua packs it): every record of the source, one field each. */
  records: string;
  /** HASH clusterId → number of IN_PROGRESS records that cluster owns. */
  inflight: string;
  /** STREAM of dead letters, one entry per transition to REJECTED. */
  dlq: string;
  /** HASH path → version at the last poll (the stable-size check). */
  seen: string;
  /** HASH of counters: `commits` (transitions to DONE; never more than one per file version). */
  stats: string;
  /** ZSET path → deadline (ms) of every unfinished record: what a poll sweeps (DESIGN.md §4b). */
  due: string;
  /** HASH of the source's last poll outcome: lastPollAt, lastOkAt, lastErrorAt, listed, error. */
  health: string;
  /** HASH of scan cursors kept between polls: `finished` (retention over `records`), `seen` (its trimming). */
  cursors: string;
  /**
   * HASH path → `<token>:<download>,<process>`: per long step of the attempt with that token, its runs begun since
   * the step last ended (begin-run.lua, end-run.lua). Apart from the packed record on purpose: the scripts of an
   * earlier release unpack records by their own field list and fail on a field they do not know.
   */
  runs: string;
}

// Braces would move or split the hash tag (Redis hashes the text between the first '{' and the next '}').
function assertNoBraces(what: string, value: string): void {
  if (value === '' || /[{}]/.test(value)) throw new Error(`ledger ${what} must be non-empty and without braces`);
}

export const assertPrefix = (prefix: string): void => assertNoBraces('prefix', prefix);

export function sourceKeys(prefix: string, sourceId: string): SourceKeys {
  assertPrefix(prefix);
  assertNoBraces('sourceId', sourceId);
  const base = `${prefix}:{${sourceId}}`;
  return {
    token: `${base}:token`,
    records: `${base}:records`,
    inflight: `${base}:inflight`,
    dlq: `${base}:dlq`,
    seen: `${base}:seen`,
    stats: `${base}:stats`,
    due: `${base}:due`,
    health: `${base}:health`,
    cursors: `${base}:cursors`,
    runs: `${base}:runs`,
  };
}
