import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import { Client, FTPError } from 'basic-ftp';
import type { FtpEndpoint } from '../src/ftp/connection-options';
import { downloadToFile, finalizeDownload } from '../src/ftp/download';
import {
  classifyFtpError,
  FtpFileError,
  FtpPermanentError,
  FtpSizeMismatchError,
  FtpTransientError,
} from '../src/ftp/errors';
import { applyFilters, orderCandidates, type FilterOptions } from '../src/ftp/filters';
import { ExactTimes, SETTLE_AFTER_MS, type ExactTime } from '../src/ftp/exact-times';
import { listRemote, parseListTime, tolerantParseList, type RemoteEntry } from '../src/ftp/list';
import { checkSafeName, normalizeRemotePath, safeLocalPath, UnsafeNameError } from '../src/ftp/names';
import { FtpPool } from '../src/ftp/pool';
import { SyncBehind, SYNC_BEHIND_BYTES } from '../src/ftp/sync-behind';
import { deleteRemote, renameRemote } from '../src/ftp/remote-actions';
import { tempDir, testFtp } from './helpers/servers';
import { countingProxy } from './helpers/tcp-proxy';

type Server = Awaited<ReturnType<typeof testFtp>>;

// One ftp-srv for the file (each instance adds process signal listeners); each test gets its own folder.
const sharedServer = testFtp();
let areas = 0;

/** The shared server, with `root` a fresh local folder that the server sees as `dir`. */
async function area(): Promise<Server & { dir: string }> {
  const server = await sharedServer;
  const dir = `/t${++areas}`;
  const root = path.join(server.root, dir);
  fs.mkdirSync(root);
  return { ...server, root, dir };
}

function endpointOf(server: { host: string; port: number; user: string; password: string }): FtpEndpoint {
  return { host: server.host, port: server.port, user: server.user, password: server.password, secure: false };
}

async function connect(server: Server): Promise<Client> {
  const client = new Client(10_000);
  after(() => client.close());
  await client.access({ host: server.host, port: server.port, user: server.user, password: server.password });
  return client;
}

function put(root: string, relPath: string, content: string | Buffer, mtime?: Date): string {
  const full = path.join(root, relPath);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, content);
  if (mtime) fs.utimesSync(full, mtime, mtime);
  return full;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const paths = (entries: RemoteEntry[]): string[] => entries.map((e) => e.path).sort();

// ---------------------------------------------------------------- names

test('checkSafeName refuses traversal, absolute paths, control characters and long segments', () => {
  const refused: Array<[string, RegExp]> = [
    ['..', /'\.\.'/],
    ['a/../../etc/passwd', /'\.\.'/],
    ['/abs', /absolute/],
    ['a\nb', /control character U\+000a/],
    ['a\rb', /control character U\+000d/],
    ['a\u0000b', /NUL/],
    ['\u001b[31mred', /control character U\+001b/],
    ['del\u007f', /U\+007f/],
    ['c1\u0085', /U\+0085/],
    ['back\\slash', /backslash/],
    ['a//b', /empty path segment/],
    ['a/', /empty path segment/],
    ['', /empty name/],
    ['./a', /'\.'/],
    ['x'.repeat(256), /longer than 255 bytes/],
    ['ü'.repeat(128), /longer than 255 bytes/], // 256 bytes in UTF-8
    ['bad\ufffdutf8', /UTF-8/],
  ];
  for (const [name, reason] of refused) {
    const check = checkSafeName(name);
    assert.equal(check.ok, false, JSON.stringify(name));
    if (!check.ok) assert.match(check.reason, reason, JSON.stringify(name));
  }
  for (const name of [
    '-rf',
    'ü nicode.txt',
    'with space.csv',
    'sub/dir/file.txt',
    '..hidden',
    'x'.repeat(255),
    ' lead',
  ]) {
    assert.deepEqual(checkSafeName(name), { ok: true }, JSON.stringify(name));
  }
});

test('normalizeRemotePath joins, keeps a leading dash away from option parsing, refuses unsafe names', () => {
  assert.equal(normalizeRemotePath('/in//box/', 'a.csv'), '/in/box/a.csv');
  assert.equal(normalizeRemotePath('in', 'sub/ü nicode.txt'), 'in/sub/ü nicode.txt');
  assert.equal(normalizeRemotePath('', '-rf'), './-rf');
  assert.equal(normalizeRemotePath('.', '-rf'), './-rf');
  assert.throws(() => normalizeRemotePath('/in', '../etc/passwd'), UnsafeNameError);
});

test('safeLocalPath stays inside the base directory', () => {
  const base = tempDir();
  assert.equal(safeLocalPath(base, 'sub/a b.csv'), path.join(base, 'sub', 'a b.csv'));
  assert.equal(safeLocalPath(base, '-rf'), path.join(base, '-rf'));
  assert.equal(safeLocalPath(base, '..x'), path.join(base, '..x'));
  for (const bad of ['../escape', 'a/../../escape', '/etc/passwd', 'a\\..\\..\\b', 'a\u0000b']) {
    assert.throws(() => safeLocalPath(base, bad), UnsafeNameError, bad);
  }
});

// ---------------------------------------------------------------- listing

test('listRemote lists flat and recursive with a depth limit, and restores the working directory', async () => {
  const server = await area();
  for (const p of ['a.txt', '.hidden', 'sub/b.txt', 'sub/.dot/e.txt', 'sub/deeper/c.txt', 'sub/deeper/deepest/d.txt']) {
    put(server.root, p, p);
  }
  const client = await connect(server);
  const flat = await listRemote(client, { remoteDir: server.dir, recursive: false, maxDepth: 5 });
  assert.deepEqual(paths(flat), ['.hidden', 'a.txt']);
  assert.deepEqual(flat.map((e) => [e.name, e.size, e.isHidden]).sort(), [
    ['.hidden', 7, true],
    ['a.txt', 5, false],
  ]);
  const depth1 = await listRemote(client, { remoteDir: server.dir, recursive: true, maxDepth: 1 });
  assert.deepEqual(paths(depth1), ['.hidden', 'a.txt', 'sub/b.txt']);
  await client.cd(server.dir);
  const all = await listRemote(client, { remoteDir: '', recursive: true, maxDepth: 10 });
  assert.deepEqual(paths(all), [
    '.hidden',
    'a.txt',
    'sub/.dot/e.txt',
    'sub/b.txt',
    'sub/deeper/c.txt',
    'sub/deeper/deepest/d.txt',
  ]);
  assert.equal(all.find((e) => e.path === 'sub/.dot/e.txt')?.isHidden, true);
  const below = await listRemote(client, { remoteDir: 'sub/deeper', recursive: true, maxDepth: 0 });
  assert.deepEqual(paths(below), ['c.txt']);
  assert.equal(await client.pwd(), server.dir);
});

test('listRemote gets exact mtimes through MDTM where LIST gives minutes (ftp-srv has no MLSD)', async () => {
  const server = await area();
  const exact = new Date('2023-05-06T07:08:09.123Z');
  for (const name of ['plain.csv', 'with space.csv', 'ü nicode.txt', '-rf']) put(server.root, name, 'x', exact);
  const client = await connect(server);
  assert.equal((await client.features()).has('MLST'), false);
  const entries = await listRemote(client, { remoteDir: server.dir, recursive: false, maxDepth: 0 });
  assert.deepEqual(paths(entries), ['-rf', 'plain.csv', 'ü nicode.txt', 'with space.csv'].sort());
  for (const entry of entries) {
    assert.equal(entry.mtimeMs, exact.getTime(), entry.path);
    assert.equal(entry.precision, 'ms', entry.path);
    assert.equal(entry.unsafe, undefined);
  }
});

test('MDTM answers are reused only once settled; a changed listing line is asked again', async () => {
  const server = await area();
  const minute = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  const at = (offsetMs: number): Date => new Date(minute + offsetMs);
  put(server.root, 'a.csv', 'aaaa', at(10_123));
  put(server.root, 'b.csv', 'bbbb', at(20_456));
  const client = await connect(server);
  const asked: string[] = [];
  const send = client.send.bind(client);
  client.send = (command, ignoreErrorCodes) => {
    if (command.startsWith('MDTM ')) asked.push(path.posix.basename(command.slice(5)));
    return send(command, ignoreErrorCodes);
  };
  let clock = 0;
  const times = new ExactTimes(() => clock);
  const list = async (atMs: number): Promise<{ asked: string[]; mtimes: Record<string, number> }> => {
    clock = atMs;
    asked.length = 0;
    const entries = await listRemote(client, { remoteDir: server.dir, recursive: false, maxDepth: 0 }, times);
    const mtimes = Object.fromEntries(entries.map((e) => [e.path, e.mtimeMs - minute]));
    return { asked: [...asked].sort(), mtimes };
  };

  assert.deepEqual(await list(0), { asked: ['a.csv', 'b.csv'], mtimes: { 'a.csv': 10_123, 'b.csv': 20_456 } });
  // Rewritten within its minute, same size: the listing line is the same, only MDTM tells.
  put(server.root, 'b.csv', 'BBBB', at(40_789));
  assert.deepEqual(await list(30_000), { asked: ['a.csv', 'b.csv'], mtimes: { 'a.csv': 10_123, 'b.csv': 40_789 } });
  // a.csv held its answer for a minute: settled. b.csv's answer changed at 30 s: not yet.
  assert.deepEqual((await list(SETTLE_AFTER_MS)).asked, ['a.csv', 'b.csv']);
  assert.deepEqual((await list(30_000 + SETTLE_AFTER_MS)).asked, ['b.csv']);
  assert.deepEqual(await list(200_000), { asked: [], mtimes: { 'a.csv': 10_123, 'b.csv': 40_789 } });
  // A write in a later minute changes the listing line: asked again, and not reused until it settles.
  put(server.root, 'a.csv', 'AAAA', at(75_000));
  assert.deepEqual(await list(210_000), { asked: ['a.csv'], mtimes: { 'a.csv': 75_000, 'b.csv': 40_789 } });
  assert.deepEqual((await list(220_000)).asked, ['a.csv']);
  // A path missing from a listing is forgotten: back with the same line, it is asked again.
  const away = `${server.root}-b.csv`;
  fs.renameSync(path.join(server.root, 'b.csv'), away);
  assert.deepEqual(await list(300_000), { asked: ['a.csv'], mtimes: { 'a.csv': 75_000 } });
  fs.renameSync(away, path.join(server.root, 'b.csv'));
  assert.deepEqual((await list(400_000)).asked, ['b.csv']);
  // After a day without a listing nothing is trusted: a time text without a year could repeat.
  assert.deepEqual((await list(400_000 + 25 * 3_600_000)).asked, ['a.csv', 'b.csv']);
});

test('an MDTM answer settles only for an ask sent a minute after the first answer came back', async () => {
  let clock = 0;
  const times = new ExactTimes(() => clock);
  let asks = 0;
  // A slow server: each answer comes back 2 s after its ask was sent.
  const slowAsk = (): Promise<ExactTime> => {
    asks += 1;
    clock += 2_000;
    return Promise.resolve({ mtimeMs: 1_000, precision: 's' });
  };
  const listing = async (atMs: number): Promise<void> => {
    clock = atMs;
    const listed = times.begin('/d\n0');
    assert.deepEqual(await listed.exactTime('/d/a.csv', 4, 'Nov 28 04:43', slowAsk), {
      mtimeMs: 1_000,
      precision: 's',
    });
    listed.complete();
  };
  await listing(0); // answered at 2 s
  await listing(61_000); // sent 59 s after that answer: not settled, though answered 61 s after it
  await listing(200_000); // settled
  await listing(300_000); // reused
  assert.equal(asks, 3);
});

test('hostile names do not break a listing: they come back flagged, nothing is sent for them', async () => {
  const server = await area();
  put(server.root, 'good.csv', 'g');
  put(server.root, 'esc\u001b[31m.csv', 'e');
  put(server.root, 'back\\slash.csv', 'b');
  put(server.root, 'new\nline.csv', 'n'); // LIST splits it in two lines: joined again, and flagged
  put(server.root, 'evil\u001b/inner.csv', 'i'); // a directory with a hostile name: not entered
  const skipped: string[] = [];
  const client = await connect(server);
  const entries = await listRemote(client, {
    remoteDir: server.dir,
    recursive: true,
    maxDepth: 3,
    onSkip: (p, reason) => skipped.push(`${JSON.stringify(p)}: ${reason}`),
  });
  const byName = new Map(entries.map((e) => [e.path, e]));
  assert.equal(byName.get('good.csv')?.unsafe, undefined);
  assert.match(byName.get('esc\u001b[31m.csv')?.unsafe ?? '', /control character/);
  assert.match(byName.get('back\\slash.csv')?.unsafe ?? '', /backslash/);
  assert.match(byName.get('new\nline.csv')?.unsafe ?? '', /control character U\+000a/);
  assert.equal(byName.has('new'), false, 'not listed under a truncated name');
  assert.ok(!entries.some((e) => e.path.startsWith('evil')));
  assert.ok(
    skipped.some((s) => s.includes('unsafe directory name')),
    skipped.join('\n'),
  );
  assert.ok(!skipped.some((s) => s.startsWith('"new"')), skipped.join('\n'));
});

test('tolerantParseList survives a junk last line, skips . and .., keeps symlinks typed', () => {
  const raw = [
    'total 3',
    '-rw-r--r-- 1 u g 12 Nov 28 04:43 a.csv',
    'drwxr-xr-x 2 u g 4096 Nov 28 04:43 dir',
    'lrwxrwxrwx 1 u g 5 Nov 28 04:43 link -> a.csv',
    'drwxr-xr-x 2 u g 4096 Nov 28 04:43 ..',
    'junk-from-a-name-with-a-newline',
    '',
  ].join('\r\n');
  const files = tolerantParseList(raw);
  assert.deepEqual(
    files.map((f) => [f.name, f.isFile, f.isDirectory, f.isSymbolicLink]),
    [
      ['a.csv', true, false, false],
      ['dir', false, true, false],
      ['link', false, false, true],
      // A line that fits no format continues the name before it (a name with a newline); checkSafeName refuses it.
      ['..\njunk-from-a-name-with-a-newline', false, true, false],
    ],
  );
  const mlsd = tolerantParseList(
    'type=file;size=3;modify=20230506070809.5; x y.csv\r\ntype=cdir;modify=20230506070809; .\r\n',
  );
  assert.equal(mlsd[0]?.name, 'x y.csv');
  assert.equal(mlsd[0]?.modifiedAt?.toISOString(), '2023-05-06T07:08:09.500Z');
  assert.equal(mlsd[0]?.rawModifiedAt, '20230506070809.5');
  // Cut within its last line (a data connection closed early, which no error reports): listed again, never a
  // file named after what arrived.
  assert.throws(() => tolerantParseList(raw.slice(0, raw.indexOf('a.csv') + 3)), FtpTransientError);
  assert.deepEqual(tolerantParseList(''), []);
});

test('parseListTime reads LIST times in the server zone with minute or day precision', () => {
  const now = Date.parse('2024-03-10T12:00:00Z');
  assert.deepEqual(parseListTime('Mar 01 04:43', now), {
    mtimeMs: Date.parse('2024-03-01T04:43:00Z'),
    precision: 'min',
  });
  assert.deepEqual(parseListTime('Dec 31 23:59', now), {
    mtimeMs: Date.parse('2023-12-31T23:59:00Z'),
    precision: 'min',
  });
  assert.deepEqual(parseListTime('Jan 05  2020', now), {
    mtimeMs: Date.parse('2020-01-05T00:00:00Z'),
    precision: 'day',
  });
  assert.deepEqual(parseListTime('Mar 01 04:43', now, 'Europe/Berlin'), {
    mtimeMs: Date.parse('2024-03-01T03:43:00Z'),
    precision: 'min',
  });
  assert.equal(parseListTime('yesterday', now), undefined);
  // New Year's Day in Sydney while UTC is still in the old year: the file is minutes old, not a year.
  const newYearsEve = Date.parse('2025-12-31T21:05:00Z');
  assert.deepEqual(parseListTime('Jan  1 08:00', newYearsEve, 'Australia/Sydney'), {
    mtimeMs: Date.parse('2025-12-31T21:00:00Z'),
    precision: 'min',
  });
  assert.deepEqual(parseListTime('Jan  1 08:00', newYearsEve + 600_000, 'Australia/Sydney'), {
    mtimeMs: Date.parse('2025-12-31T21:00:00Z'),
    precision: 'min',
  });
});

// ---------------------------------------------------------------- filters and order

function entry(p: string, mtimeMs = 0, precision: RemoteEntry['precision'] = 's'): RemoteEntry {
  const name = path.posix.basename(p);
  return { path: p, name, size: 1, mtimeMs, precision, isHidden: p.split('/').some((s) => s.startsWith('.')) };
}

const NOW = 1_700_000_000_000;
const base: FilterOptions = { include: [], exclude: [], includeHidden: false, minFileAgeMs: 0, nowMs: NOW };

test('applyFilters counts each reason', () => {
  const entries = [
    entry('keep.csv'),
    entry('.hidden.csv'),
    entry('sub/.dot/x.csv'),
    entry('tmp/skip.csv'),
    entry('notes.txt'),
    entry('report-x.csv'),
    entry('young.csv', NOW - 5_000),
  ];
  const result = applyFilters(entries, {
    ...base,
    include: ['*.csv', 'tmp/**'],
    exclude: ['tmp/**'],
    pattern: '^(keep|young|\\.hidden)',
    minFileAgeMs: 10_000,
  });
  assert.deepEqual(paths(result.accepted), ['keep.csv']);
  assert.deepEqual(result.filteredOut, { hidden: 2, exclude: 1, include: 1, pattern: 1, 'too-young': 1 });
  assert.deepEqual(paths(applyFilters(entries, { ...base, includeHidden: true }).accepted), paths(entries));
});

test('too-young allows for the precision of the mtime', () => {
  const minuteOld = entry('m.csv', NOW - 65_000, 'min'); // truncated: may be only 5 s old
  const exact = entry('e.csv', NOW - 65_000, 'ms');
  const result = applyFilters([minuteOld, exact], { ...base, minFileAgeMs: 30_000 });
  assert.deepEqual(paths(result.accepted), ['e.csv']);
  assert.deepEqual(result.filteredOut, { 'too-young': 1 });
});

test('a ready marker is required beside the file; markers are never candidates', () => {
  const entries = [
    entry('a.csv'),
    entry('a.csv.done'),
    entry('b.csv'),
    entry('c.csv'),
    entry('c.csv.ok'),
    entry('orphan.done'),
  ];
  const result = applyFilters(entries, { ...base, readyMarker: { suffixes: ['.done', '.ok'] } });
  assert.deepEqual(paths(result.accepted), ['a.csv', 'c.csv']);
  assert.deepEqual(result.filteredOut, { marker: 3, 'not-ready': 1 });
});

test('orderCandidates sorts by name or mtime and keeps the first file of each directory', () => {
  const entries = [entry('d1/b', 1), entry('d1/a', 3), entry('d2/z', 2), entry('d2/y', 5), entry('top', 9)];
  assert.deepEqual(orderCandidates(entries, 'none'), entries);
  assert.deepEqual(paths(orderCandidates(entries, 'name')), ['d1/a', 'd2/y', 'top']);
  assert.deepEqual(paths(orderCandidates(entries, 'mtime')), ['d1/b', 'd2/z', 'top']);
});

// ---------------------------------------------------------------- download

test('downloadToFile fetches a whole file, reports progress, finalize renames it', async () => {
  const server = await area();
  const content = crypto.randomBytes(300_000);
  put(server.root, 'in/big.bin', content);
  const local = tempDir();
  const part = path.join(local, 'big.bin.part');
  const client = await connect(server);
  const progress: number[] = [];
  const result = await downloadToFile(client, `${server.dir}/in/big.bin`, part, {
    expectedSize: content.length,
    onProgress: (n) => progress.push(n),
  });
  assert.deepEqual(result, { bytesFetched: content.length, resumedFrom: 0 });
  assert.equal(progress.at(-1), content.length);
  await finalizeDownload(part, path.join(local, 'big.bin'));
  await finalizeDownload(part, path.join(local, 'big.bin')); // a retried finalize is fine
  assert.ok(fs.readFileSync(path.join(local, 'big.bin')).equals(content));
  assert.equal(fs.existsSync(part), false);
});

test('downloadToFile resumes from a partial .part file with REST', async () => {
  const server = await area();
  const content = crypto.randomBytes(200_000);
  put(server.root, 'r.bin', content);
  const part = path.join(tempDir(), 'r.bin.part');
  fs.writeFileSync(part, content.subarray(0, 70_000));
  const progress: number[] = [];
  const result = await downloadToFile(await connect(server), `${server.dir}/r.bin`, part, {
    expectedSize: content.length,
    onProgress: (n) => progress.push(n),
  });
  assert.deepEqual(result, { bytesFetched: content.length - 70_000, resumedFrom: 70_000 });
  assert.ok(progress.every((n) => n >= 70_000));
  assert.ok(fs.readFileSync(part).equals(content));
});

test('a download past SYNC_BEHIND_BYTES, fresh and resumed, arrives intact with its syncs behind it', async () => {
  const server = await area();
  const content = Buffer.alloc(2 * SYNC_BEHIND_BYTES + 12_345);
  for (let i = 0; i < content.length; i += 4096) content.writeUInt32BE(i, i); // every page told apart
  put(server.root, 'large.bin', content);
  const local = tempDir();
  for (const resumeAt of [0, SYNC_BEHIND_BYTES + 7]) {
    const part = path.join(local, `large-${resumeAt}.part`);
    fs.writeFileSync(part, content.subarray(0, resumeAt));
    const result = await downloadToFile(await connect(server), `${server.dir}/large.bin`, part, {
      expectedSize: content.length,
    });
    assert.deepEqual(result, { bytesFetched: content.length - resumeAt, resumedFrom: resumeAt });
    assert.ok(fs.readFileSync(part).equals(content), `resumed at ${resumeAt}`);
  }
});

/** A part file handle whose `datasync` is `sync` (its writes go nowhere: only SyncBehind calls it). */
function handleSyncing(sync: () => Promise<void>): fs.promises.FileHandle {
  return { datasync: sync } as unknown as fs.promises.FileHandle;
}

async function throughSyncBehind(part: fs.promises.FileHandle, bytes: number): Promise<void> {
  const chunks = Array.from({ length: Math.ceil(bytes / 2 ** 20) }, () => Buffer.alloc(2 ** 20));
  await pipeline(Readable.from(chunks), new SyncBehind(part), new Writable({ write: (_c, _e, done) => done() }));
}

test('a failed background sync fails the transfer; its end waits for a sync still running', async () => {
  const failing = handleSyncing(() => Promise.reject(new Error('EIO: i/o error, fdatasync')));
  await assert.rejects(throughSyncBehind(failing, 3 * SYNC_BEHIND_BYTES), /EIO/);
  let settled = false;
  const slow = handleSyncing(() => sleep(300).then(() => void (settled = true)));
  await throughSyncBehind(slow, SYNC_BEHIND_BYTES);
  assert.equal(settled, true);
});

test('a resume that does not continue the part (other bytes on disk) starts over from byte 0', async () => {
  const server = await area();
  const content = crypto.randomBytes(200_000);
  put(server.root, 'o.bin', content);
  const part = path.join(tempDir(), 'o.bin.part');
  // The right size for a prefix, the wrong bytes near its end: what a resume onto a spoiled part would see.
  // Every byte from 120000 on is flipped, so the first difference is exactly there (a fill with one value would
  // match a random byte 1 time in 256).
  const spoiled = Buffer.from(content.subarray(0, 150_000));
  for (let i = 120_000; i < spoiled.length; i++) spoiled[i] = spoiled[i]! ^ 0xff;
  fs.writeFileSync(part, spoiled);
  const resume = downloadToFile(await connect(server), `${server.dir}/o.bin`, part, { expectedSize: content.length });
  await assert.rejects(resume, (err: unknown) => {
    assert.ok(err instanceof FtpTransientError, String(err));
    assert.match(err.message, /does not continue the bytes already downloaded \(offset 120000\): starting over/);
    return true;
  });
  assert.equal(fs.existsSync(part), false, 'the spoiled part is gone');
  const again = await downloadToFile(await connect(server), `${server.dir}/o.bin`, part, {
    expectedSize: content.length,
  });
  assert.deepEqual(again, { bytesFetched: content.length, resumedFrom: 0 });
  assert.ok(fs.readFileSync(part).equals(content));
});

test('a changed remote file is a size mismatch, fresh or resumed', async () => {
  const server = await area();
  put(server.root, 'grown.csv', 'x'.repeat(1_500));
  const client = await connect(server);
  const dir = tempDir();
  await assert.rejects(
    downloadToFile(client, `${server.dir}/grown.csv`, path.join(dir, 'fresh.part'), { expectedSize: 1_000 }),
    (err) => err instanceof FtpSizeMismatchError && err.expectedSize === 1_000 && err.actualSize === 1_500,
  );
  const part = path.join(dir, 'resumed.part');
  fs.writeFileSync(part, 'x'.repeat(500));
  await assert.rejects(
    downloadToFile(client, `${server.dir}/grown.csv`, part, { expectedSize: 1_000 }),
    (err) => err instanceof FtpSizeMismatchError && err.actualSize === 1_500,
  );
  assert.equal(fs.statSync(part).size, 500, 'nothing was appended to a prefix of another version');
});

test('a missing remote file is an FtpFileError', async () => {
  const server = await area();
  const client = await connect(server);
  await assert.rejects(
    downloadToFile(client, `${server.dir}/nope.csv`, path.join(tempDir(), 'n.part'), { expectedSize: 1 }),
    FtpFileError,
  );
});

// ---------------------------------------------------------------- pool

test('the pool never opens more than maxConnections and reuses them', async () => {
  const server = await area();
  put(server.root, 'a.txt', 'a');
  const proxy = await countingProxy(server);
  const pool = new FtpPool({ ...endpointOf(server), port: proxy.port }, { maxConnections: 2 });
  after(() => pool.close());
  let inside = 0;
  let maxInside = 0;
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      pool.withClient(async (client) => {
        maxInside = Math.max(maxInside, ++inside);
        const names = (await client.list(server.dir)).map((f) => f.name);
        await sleep(50);
        inside -= 1;
        return `${i}:${names.join()}`;
      }),
    ),
  );
  assert.deepEqual(results, ['0:a.txt', '1:a.txt', '2:a.txt', '3:a.txt', '4:a.txt', '5:a.txt']);
  assert.equal(maxInside, 2);
  assert.equal(proxy.max, 2, 'server side: at most 2 control connections at once');
  assert.equal(proxy.accepted, 2, 'clients were reused');
  assert.deepEqual(pool.stats, { open: 2, idle: 2, busy: 0, waiting: 0 });
});

test('the pool discards a client after an error and replaces dropped connections', async () => {
  const server = await area();
  const proxy = await countingProxy(server);
  const pool = new FtpPool({ ...endpointOf(server), port: proxy.port }, { maxConnections: 1 });
  after(() => pool.close());

  await assert.rejects(
    pool.withClient(() => Promise.reject(new Error('boom'))),
    /boom/,
  );
  await pool.withClient((client) => client.pwd());
  assert.equal(proxy.accepted, 2, 'the failed client was closed, a new one opened');

  proxy.dropAll(); // the idle connection dies (server restart, NAT timeout…)
  await sleep(50);
  assert.equal(await pool.withClient((client) => client.pwd()), '/');
  assert.equal(proxy.accepted, 3);

  const dropped = pool.withClient(async (client) => {
    proxy.dropAll();
    await sleep(20);
    return client.list(server.dir);
  });
  await assert.rejects(dropped, (err) => err instanceof FtpTransientError && /connection lost/.test(err.message));
  assert.deepEqual(await pool.withClient((client) => client.pwd()), '/');
  assert.equal(pool.stats.open, 1);
});

test('waiting for a client honours an AbortSignal', async () => {
  const server = await area();
  const pool = new FtpPool(endpointOf(server), { maxConnections: 1 });
  after(() => pool.close());
  let release: (() => void) | undefined;
  const holding = pool.withClient(() => new Promise<void>((resolve) => (release = resolve)));
  while (!release) await sleep(10); // logged in and holding the only client
  const abort = new AbortController();
  const waiting = pool.withClient((client) => client.pwd(), abort.signal);
  await sleep(20);
  assert.equal(pool.stats.waiting, 1);
  abort.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(pool.stats.waiting, 0);
  release();
  await holding;
  assert.equal(await pool.withClient((client) => client.pwd()), '/');
});

test('a refused login is a permanent error that does not carry the password', async () => {
  const server = await area();
  const password = 'Very-Secret-Pw-9';
  const pool = new FtpPool({ ...endpointOf(server), password }, { maxConnections: 1 });
  after(() => pool.close());
  await assert.rejects(
    pool.withClient((client) => client.pwd()),
    (err: Error) => {
      assert.ok(err instanceof FtpPermanentError);
      assert.equal(err.ftpCode, 530);
      assert.ok(!err.message.includes(password) && !String(err.stack).includes(password));
      return true;
    },
  );
  assert.equal(pool.stats.open, 0);
});

test('classifyFtpError: 421 and broken connections are transient, 550 is a file error', () => {
  const too = classifyFtpError(new FTPError({ code: 421, message: '421 Too many connections (2) from this IP' }));
  assert.ok(too instanceof FtpTransientError && too.ftpCode === 421 && /421/.test(too.message));
  assert.ok(classifyFtpError(new FTPError({ code: 550, message: '550 No such file' })) instanceof FtpFileError);
  assert.ok(
    classifyFtpError(new FTPError({ code: 425, message: '425 no data connection' })) instanceof FtpTransientError,
  );
  assert.ok(
    classifyFtpError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })) instanceof FtpTransientError,
  );
  assert.ok(classifyFtpError(new Error('Timeout (control socket)')) instanceof FtpTransientError);
  const local = Object.assign(new Error('no space'), { code: 'ENOSPC' });
  assert.equal(classifyFtpError(local), local);
});

// ---------------------------------------------------------------- remote actions

test('remote delete and rename are idempotent', async () => {
  const server = await area();
  put(server.root, 'in/a.csv', 'a');
  put(server.root, 'in/b.csv', 'b');
  fs.mkdirSync(path.join(server.root, 'done'));
  const client = await connect(server);
  await client.cd(server.dir);

  await deleteRemote(client, 'in/a.csv');
  await deleteRemote(client, 'in/a.csv'); // retried after a success
  assert.equal(fs.existsSync(path.join(server.root, 'in/a.csv')), false);

  assert.equal(await renameRemote(client, 'in/b.csv', 'done'), 'done/b.csv');
  assert.equal(await renameRemote(client, 'in/b.csv', 'done'), 'done/b.csv'); // retried after a success
  assert.equal(fs.readFileSync(path.join(server.root, 'done/b.csv'), 'utf8'), 'b');
  await assert.rejects(renameRemote(client, 'in/never.csv', 'done'), FtpFileError);
});
