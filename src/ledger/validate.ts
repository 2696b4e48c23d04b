// Argument checks done before a script runs: a bad number would otherwise reach Lua as NaN or nil and corrupt a
// record (e.g. a lease that never expires), which is far harder to see than an exception here.
import type { Candidate, ClaimBatchOptions, ReleaseOptions } from './types';

function assertInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`ledger: ${name} must be an integer ≥ ${min}`);
}

function assertText(name: string, value: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`ledger: ${name} must be a non-empty string`);
}

export function assertClaimOptions(opts: ClaimBatchOptions): void {
  assertText('clusterId', opts.clusterId);
  assertText('pollRun', opts.pollRun);
  assertInteger('leaseMs', opts.leaseMs, 1);
  assertInteger('maxTries', opts.maxTries, 1);
  assertInteger('maxAcceptPerPoll', opts.maxAcceptPerPoll, 0);
  assertInteger('maxInFlight', opts.maxInFlight, 0);
  if (opts.versionPolicy !== 'reprocess' && opts.versionPolicy !== 'ignore') {
    throw new TypeError(`ledger: unknown versionPolicy ${String(opts.versionPolicy)}`);
  }
  if (opts.listedAgoMs !== undefined && !(opts.listedAgoMs >= 0 && Number.isFinite(opts.listedAgoMs))) {
    throw new TypeError(`ledger: listedAgoMs must be a finite number >= 0, got ${String(opts.listedAgoMs)}`);
  }
}

export function assertReleaseOptions(opts: ReleaseOptions): void {
  assertInteger('retryDelayMs', opts.retryDelayMs, 0);
  assertInteger('maxTries', opts.maxTries, 1);
}

export function assertLeaseMs(leaseMs: number): void {
  assertInteger('leaseMs', leaseMs, 1);
}

export function assertToken(token: number): void {
  assertInteger('token', token, 1);
}

// Checked inline (a listing passes tens of thousands): the messages name what was wrong.
function assertCandidate(c: Candidate): void {
  const { path, mtimeMs, size } = c;
  if (typeof path !== 'string' || path === '') assertText('candidate path', path);
  // The claim script gets the batch as lines of '<path>\t<version>'; such names are refused at listing anyway.
  if (path.includes('\t') || path.includes('\n')) {
    throw new TypeError('ledger: a candidate path must not hold a tab or a newline');
  }
  if (!Number.isSafeInteger(mtimeMs) || mtimeMs < 0) assertInteger('candidate mtimeMs', mtimeMs, 0);
  if (!Number.isSafeInteger(size) || size < 0) assertInteger('candidate size', size, 0);
}

/** The first occurrence of each path: the script reads every record before it writes any, so a path listed
 * twice would be decided twice on the same stale read. */
export function dedupeCandidates(candidates: Candidate[]): { unique: Candidate[]; duplicates: number } {
  const seen = new Set<string>();
  const unique: Candidate[] = [];
  for (const c of candidates) {
    assertCandidate(c);
    const before = seen.size;
    if (seen.add(c.path).size > before) unique.push(c);
  }
  return { unique, duplicates: candidates.length - unique.length };
}
