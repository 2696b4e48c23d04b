import type { SourceConfig } from '../config';
import path from 'node:path';
import { FTPError, type Client, type FileInfo } from 'basic-ftp';
import * as dosParser from 'basic-ftp/dist/parseListDOS';
import * as mlsdParser from 'basic-ftp/dist/parseListMLSD';
import * as unixParser from 'basic-ftp/dist/parseListUnix';
import { classifyFtpError, FtpTransientError } from './errors';
import type { ExactTime, ExactTimes, ListingTimes, MdtmAnswer } from './exact-times';
import { checkSafeName, type NameCheck } from './names';

/** How exact `mtimeMs` is: MDTM/MLSD with a fraction → ms, MLSD/MDTM → s, LIST → min (or day for old files). */
export type TimePrecision = 'ms' | 's' | 'min' | 'day';

export interface RemoteEntry {
  /** Relative to the listed directory, posix separators. */
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
  /** Some segment of `path` starts with a dot. */
  isHidden: boolean;
  precision: TimePrecision;
  /** Set when the name failed `checkSafeName`: the caller rejects the file; nothing was sent to the server for it. */
  unsafe?: string;
}

export interface ListOptions {
  /** Absolute, or relative to the login directory. */
  remoteDir: string;
  recursive: boolean;
  /** How many directory levels below `remoteDir` to enter (0: only `remoteDir` itself). */
  maxDepth: number;
  /** IANA zone of the server's LIST times, used only when neither MLSD nor MDTM give exact times. Default UTC. */
  timeZone?: string;
  /** Told about what the listing leaves out on purpose (symlinks, unsafe directories, vanished files). */
  onSkip?: (relPath: string, reason: string) => void;
}

/** The listing a source's polls (and the CLI's backfill) make of its server, before filters. */
export function listOptionsOf(source: SourceConfig, onSkip?: ListOptions['onSkip']): ListOptions {
  return {
    remoteDir: source.remoteDir,
    recursive: source.recursive,
    maxDepth: source.recursive ? source.maxDepth : 0,
    timeZone: source.timeZone,
    ...(onSkip ? { onSkip } : {}),
  };
}

interface ListState {
  readonly opts: ListOptions;
  readonly out: RemoteEntry[];
  /** Whether MDTM works on this server; learned on first use. */
  mdtm: 'unknown' | 'yes' | 'no';
  /** MDTM answers of earlier listings of the same directory (exact-times.ts). */
  readonly times: ListingTimes | undefined;
}

/**
 * Lists `remoteDir` (recursively up to `maxDepth`): regular files only, with exact modification times
 * when the server can give them. Works by CWD + argument-less MLSD/LIST so that no name ever has to be
 * parsed as a LIST argument; the client's working directory is restored afterwards.
 */
export async function listRemote(client: Client, opts: ListOptions, exactTimes?: ExactTimes): Promise<RemoteEntry[]> {
  client.parseList = tolerantParseList;
  try {
    const startDir = await client.pwd();
    const baseDir = path.posix.resolve(startDir, opts.remoteDir || '.');
    const times = exactTimes?.begin(`${baseDir}\n${opts.recursive ? opts.maxDepth : 0}`);
    const state: ListState = { opts, out: [], mdtm: 'unknown', times };
    try {
      await walk(client, state, baseDir, '', 0);
    } finally {
      await client.cd(startDir);
    }
    times?.complete();
    return state.out;
  } catch (err) {
    throw classifyFtpError(err);
  }
}

async function walk(client: Client, state: ListState, absDir: string, relDir: string, depth: number): Promise<void> {
  await client.cd(absDir);
  const items = dropDuplicates(await client.list(), state, relDir);
  const subdirs: string[] = [];
  for (const item of items) {
    const relPath = relDir === '' ? item.name : `${relDir}/${item.name}`;
    const check = checkEntryName(item.name, relPath);
    if (item.isDirectory) {
      if (!state.opts.recursive || depth >= state.opts.maxDepth) continue;
      if (check.ok) subdirs.push(item.name);
      else state.opts.onSkip?.(relPath, `unsafe directory name: ${check.reason}`);
    } else if (item.isFile) {
      const entry = await toEntry(client, state, item, absDir, relPath, check);
      if (entry) state.out.push(entry);
    } else {
      state.opts.onSkip?.(relPath, item.isSymbolicLink ? 'symlink' : 'not a regular file');
    }
  }
  for (const name of subdirs) {
    await walk(client, state, path.posix.join(absDir, name), relDir === '' ? name : `${relDir}/${name}`, depth + 1);
  }
}

function checkEntryName(name: string, relPath: string): NameCheck {
  // A listing line can carry a "name" with a slash only if the server or a hostile peer invented it.
  if (name.includes('/')) return { ok: false, reason: 'slash inside a name' };
  return checkSafeName(relPath);
}

// A name with a newline splits into two listing lines; a fragment may then collide with a real name.
function dropDuplicates(items: FileInfo[], state: ListState, relDir: string): FileInfo[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    if (!seen.has(item.name)) return seen.add(item.name);
    state.opts.onSkip?.(relDir === '' ? item.name : `${relDir}/${item.name}`, 'duplicate name in listing');
    return false;
  });
}

async function toEntry(
  client: Client,
  state: ListState,
  item: FileInfo,
  absDir: string,
  relPath: string,
  check: NameCheck,
): Promise<RemoteEntry | undefined> {
  const { textShowsWrites, ...listed } = listedTime(item, state.opts.timeZone);
  const entry: RemoteEntry = {
    path: relPath,
    name: item.name,
    size: item.size,
    isHidden: relPath.split('/').some((segment) => segment.startsWith('.')),
    ...listed,
  };
  if (!check.ok) return { ...entry, unsafe: check.reason };
  if (entry.precision === 'min' || entry.precision === 'day') {
    // Never for unsafe names: they must not reach the control connection.
    const exact = await exactTimeOf(client, state, path.posix.join(absDir, item.name), item, textShowsWrites);
    if (exact === 'vanished') {
      state.opts.onSkip?.(relPath, 'vanished before MDTM');
      return undefined;
    }
    if (exact) Object.assign(entry, exact);
  }
  return entry;
}

type Timed = Pick<RemoteEntry, 'mtimeMs' | 'precision'>;

/**
 * `textShowsWrites`: the LIST time text is one that any write now would change (a minute, or the year form Unix
 * servers give files older than six months), so a settled MDTM answer may stand for it (exact-times.ts).
 */
function listedTime(item: FileInfo, timeZone: string | undefined): Timed & { textShowsWrites: boolean } {
  if (item.modifiedAt) {
    // tolerantParseList keeps MLSD's raw `modify` fact, so a fraction tells us the server gave ms.
    const precision = item.rawModifiedAt.includes('.') ? 'ms' : 's';
    return { mtimeMs: item.modifiedAt.getTime(), precision, textShowsWrites: true };
  }
  const parsed = parseListTime(item.rawModifiedAt, Date.now(), timeZone);
  return parsed ? { ...parsed, textShowsWrites: true } : { mtimeMs: 0, precision: 'day', textShowsWrites: false };
}

/** MDTM's answer, or a settled earlier one while the file's listing line is unchanged. */
function exactTimeOf(
  client: Client,
  state: ListState,
  absPath: string,
  item: FileInfo,
  textShowsWrites: boolean,
): Promise<MdtmAnswer> {
  const ask = (): Promise<MdtmAnswer> => exactTime(client, state, absPath);
  if (!textShowsWrites || !state.times) return ask();
  return state.times.exactTime(absPath, item.size, item.rawModifiedAt, ask);
}

async function exactTime(client: Client, state: ListState, absPath: string): Promise<MdtmAnswer> {
  if (state.mdtm === 'no') return undefined;
  try {
    const res = await client.send(`MDTM ${await client.protectWhitespace(absPath)}`);
    const parsed = parseMdtmReply(res.message);
    state.mdtm = parsed ? 'yes' : 'no';
    return parsed;
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
    if (err.code === 550 || err.code === 551) return 'vanished';
    // 500/502/504: no MDTM on this server; don't ask again during this listing.
    if (err.code >= 500 && state.mdtm !== 'yes') {
      state.mdtm = 'no';
      return undefined;
    }
    throw err;
  }
}

/** Parses `213 YYYYMMDDHHMMSS[.fff]` (UTC per RFC 3659). */
export function parseMdtmReply(message: string): ExactTime | undefined {
  const match = /^213 (\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?/.exec(message.trim());
  if (!match) return undefined;
  const n = (i: number): number => Number(match[i]);
  const fraction = match[7];
  const ms = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  return { mtimeMs: Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6), ms), precision: fraction ? 'ms' : 's' };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Parses a Unix LIST time (`Nov 28 04:43`, `Nov 28 2025`, `2024-01-02 12:34`) in `timeZone`. Recent files
 * have no year: it is the latest that does not put the file more than a day in the future. The server's year may
 * already be the next one while UTC's is not (`Jan  1 08:00` in Sydney, listed at 21:05 UTC on 31 December).
 */
export function parseListTime(raw: string, nowMs: number, timeZone = 'UTC'): Timed | undefined {
  const recent = /^([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})$/.exec(raw.trim());
  if (recent) {
    const month = MONTHS.indexOf(recent[1]!.toLowerCase());
    if (month < 0) return undefined;
    const year = new Date(nowMs).getUTCFullYear();
    const at = (y: number): number =>
      wallClockToUtcMs([y, month, Number(recent[2]), Number(recent[3]), Number(recent[4])], timeZone);
    const latest = [year + 1, year, year - 1].map(at).find((ms) => ms <= nowMs + 86_400_000);
    return { mtimeMs: latest ?? at(year - 1), precision: 'min' };
  }
  const old = /^([A-Za-z]{3})\s+(\d{1,2})\s+(\d{4})$/.exec(raw.trim());
  if (old) {
    const month = MONTHS.indexOf(old[1]!.toLowerCase());
    if (month < 0) return undefined;
    return { mtimeMs: wallClockToUtcMs([Number(old[3]), month, Number(old[2]), 0, 0], timeZone), precision: 'day' };
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})\s+(\d{1,2}):(\d{2})$/.exec(raw.trim());
  if (iso) {
    const n = (i: number): number => Number(iso[i]);
    return { mtimeMs: wallClockToUtcMs([n(1), n(2) - 1, n(3), n(4), n(5)], timeZone), precision: 'min' };
  }
  return undefined;
}

/** UTC ms of a wall-clock time in an IANA zone (two passes settle DST edges). */
function wallClockToUtcMs(parts: [number, number, number, number, number], timeZone: string): number {
  const asUtc = Date.UTC(...parts);
  if (timeZone === 'UTC') return asUtc;
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  return asUtc - zoneOffsetMs(first, timeZone);
}

function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const fields = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(fields.find((f) => f.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(utcMs / 1000) * 1000;
}

const PARSERS = [dosParser, unixParser, mlsdParser];

/**
 * basic-ftp's parser picks one format from the *last* line and throws if that line fits none — one hostile
 * name (a newline inside) can break a whole listing. Here the format is the one most lines fit, and lines
 * that fit nothing are dropped. For MLSD the raw `modify` fact is kept in `rawModifiedAt` (see listedTime).
 */
export function tolerantParseList(rawList: string): FileInfo[] {
  // Every line of a listing ends with CRLF (RFC 959, RFC 3659). A data connection closed early ends the listing
  // as if it were complete, and no error says so; cut within a line, the last line has no line end and would be
  // taken for a file (part of a name). Listed again instead (a cut at a line end is not seen here: DESIGN §4).
  if (rawList !== '' && !rawList.endsWith('\n')) {
    throw new FtpTransientError('ftp listing cut short: its last line has no line end', undefined);
  }
  const lines = rawList.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('total'));
  const parser = mostFitting(lines);
  if (!parser) return [];
  const files: FileInfo[] = [];
  for (const line of joinContinuations(lines, parser)) {
    const info = parseQuietly(parser, hideLineBreaks(line));
    if (!info) continue;
    info.name = restoreLineBreaks(info.name);
    if (parser === mlsdParser && info.modifiedAt) keepRawModify(info, line);
    files.push(info);
  }
  return parser.transformList(files);
}

// A name with a newline arrives as a listing line cut short plus a fragment that fits no format. Taking the
// fragment as the rest of the name keeps the whole (unsafe) name: it is then rejected for its newline, instead
// of being listed truncated (a name that does not exist, or worse, another file's name).
function joinContinuations(lines: string[], parser: (typeof PARSERS)[number]): string[] {
  const joined: string[] = [];
  for (const line of lines) {
    if (parser.testLine(line) || joined.length === 0) joined.push(line);
    else joined[joined.length - 1] += `\n${line}`;
  }
  return joined.filter((line) => parser.testLine(line));
}

// basic-ftp's line patterns stop at CR/LF (`.` does not match them): stand-ins keep such names whole.
const LINE_BREAK_STAND_INS: [string, string][] = [
  ['\r', '\ue00d'],
  ['\n', '\ue00a'],
];

function hideLineBreaks(line: string): string {
  if (LINE_BREAK_STAND_INS.some(([, standIn]) => line.includes(standIn))) return line;
  return LINE_BREAK_STAND_INS.reduce((out, [brk, standIn]) => out.split(brk).join(standIn), line);
}

function restoreLineBreaks(name: string): string {
  return LINE_BREAK_STAND_INS.reduce((out, [brk, standIn]) => out.split(standIn).join(brk), name);
}

// basic-ftp reads a fraction as milliseconds digit by digit (".5" → 5 ms); reparse it from the raw fact.
function keepRawModify(info: FileInfo, line: string): void {
  const raw = /(?:^|;)modify=([^;]*)/i.exec(line.split(' ', 1)[0] ?? '')?.[1];
  const parsed = raw === undefined ? undefined : parseMdtmReply(`213 ${raw}`);
  if (!raw || !parsed) return;
  info.rawModifiedAt = raw;
  info.modifiedAt = new Date(parsed.mtimeMs);
}

function mostFitting(lines: string[]): (typeof PARSERS)[number] | undefined {
  let best: (typeof PARSERS)[number] | undefined;
  let bestCount = 0;
  for (const parser of PARSERS) {
    const count = lines.filter((line) => parser.testLine(line)).length;
    if (count > bestCount) [best, bestCount] = [parser, count];
  }
  return best;
}

function parseQuietly(parser: (typeof PARSERS)[number], line: string): FileInfo | undefined {
  try {
    return parser.parseLine(line);
  } catch {
    return undefined;
  }
}
