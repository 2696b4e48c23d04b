// What every fault scenario shares: its size (reduced inside `npm test`, full with FAULTS_SCALE=full), the
// end-of-run accounting, and the report that `npm run test:faults` sums up in its last line.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Ledger, LedgerRecord } from '../../src/ledger';
import type { Pipeline } from './pipeline';
import { publishedFile, publishedPaths } from './published';

export const FULL_SCALE = process.env.FAULTS_SCALE === 'full';

/** `reduced` inside `npm test` (CI keeps the scenario honest), `full` on demand. */
export function scaled(reduced: number, full: number): number {
  return FULL_SCALE ? full : reduced;
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/**
 * A `command` processor that records each invocation (one line per run, in `logFile`) and prints the file's
 * sha-256, which becomes the result stored with the commit.
 */
export function countingProcessor(logFile: string): Record<string, unknown> {
  const script = 'echo "$FTP_INGEST_PATH $FTP_INGEST_TOKEN" >> "$0"; sha256sum "$1" | cut -d " " -f 1';
  return { name: 'command', options: { command: ['sh', '-c', script, logFile, '{file}'] } };
}

export interface Accounting {
  scenario: string;
  files: number;
  done: number;
  commits: number;
  /** Commits beyond one per file, plus outputs present more than once. */
  duplicates: number;
  /** Files not DONE, or whose output is missing or differs from the source. */
  lost: number;
  inProgress: number;
  /** Processor runs (may exceed files: at-least-once). */
  invocations: number;
  kills: number;
}

export interface AccountOptions {
  scenario: string;
  ledger: Ledger;
  sourceId: string;
  /** remote path (relative to the source dir) → sha-256 of its content */
  expected: Map<string, string>;
  /** processedDir/<sourceId>; one per cluster when clusters share the ledger (each output must be in exactly one). */
  processedDir: string | string[];
  invocationsLog?: string;
  kills?: number;
}

/**
 * The same accounting for every scenario: ledger DONE = files, each output present exactly once with the
 * source's checksum, nothing left IN_PROGRESS, commits = files. Asserts, reports, and returns the figures.
 */
export async function account(options: AccountOptions): Promise<Accounting> {
  const { ledger, sourceId, expected } = options;
  const counts = await ledger.counts(sourceId);
  const dirs = ([] as string[]).concat(options.processedDir);
  let lost = 0;
  for (const [file, digest] of expected) {
    const record = await ledger.get(sourceId, file);
    const output = dirs.map((dir) => publishedFile(dir, file)).find((candidate) => fs.existsSync(candidate));
    const ok = record?.status === 'DONE' && output !== undefined && sha256(fs.readFileSync(output)) === digest;
    if (!ok) lost++;
  }
  const outputs = dirs.flatMap(publishedPaths);
  const commits = await ledger.commits(sourceId);
  const duplicates = Math.max(0, commits - counts.DONE) + Math.max(0, outputs.length - expected.size);
  const invocations =
    options.invocationsLog && fs.existsSync(options.invocationsLog)
      ? fs.readFileSync(options.invocationsLog, 'utf8').split('\n').filter(Boolean).length
      : counts.DONE;
  const result: Accounting = {
    scenario: options.scenario,
    files: expected.size,
    done: counts.DONE,
    commits,
    duplicates,
    lost,
    inProgress: counts.IN_PROGRESS,
    invocations,
    kills: options.kills ?? 0,
  };
  report(result);
  assert.equal(result.lost, 0, `${options.scenario}: lost files`);
  assert.equal(result.duplicates, 0, `${options.scenario}: duplicates`);
  assert.equal(result.inProgress, 0, `${options.scenario}: left IN_PROGRESS`);
  assert.equal(result.done, expected.size, `${options.scenario}: DONE = files`);
  assert.equal(result.commits, expected.size, `${options.scenario}: one commit per file`);
  return result;
}

/** `account` for one source of a test pipeline: its ledger, and its processed folder. */
export function accountSource(
  pipeline: Pick<Pipeline, 'ledger' | 'processed'>,
  options: Omit<AccountOptions, 'ledger' | 'processedDir'>,
): Promise<Accounting> {
  return account({ ...options, ledger: pipeline.ledger, processedDir: pipeline.processed(options.sourceId, '') });
}

/** Appends the figures to $FAULTS_REPORT (JSON lines), which scripts/run-faults.js sums up. */
export function report(figures: Accounting): void {
  const file = process.env.FAULTS_REPORT;
  if (file) fs.appendFileSync(file, `${JSON.stringify(figures)}\n`);
}

/**
 * How many files needed a second try, and how many a second claim attempt (a lapsed attempt that never began a
 * run is claimed again without a try): `files-with-a-second-try=… files-claimed-again=…`.
 */
export function secondClaims(records: LedgerRecord[]): string {
  const secondTries = records.filter((r) => r.tries > 1).length;
  const claimedAgain = records.filter((r) => (r.attempt ?? 1) > 1).length;
  return `files-with-a-second-try=${secondTries} files-claimed-again=${claimedAgain}`;
}
