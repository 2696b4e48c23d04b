// Fault scenario "a real FTP server": the whole pipeline (poll → download → process → commit → move) against a
// Debian pure-ftpd started on a free loopback port, through a proxy that cuts data connections: MLSD listing
// precision (seconds), REST resume after a cut, remote delete and rename-to-dir, a modified file as a new
// version, and a file the FTP user may not read (permission denied: REJECTED with the reason, one dead letter).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { accountSource, countingProcessor, sha256 } from '../helpers/faults';
import { ftpProxy } from '../helpers/ftp-proxy';
import { usePipeline, type Pipeline } from '../helpers/pipeline';
import { pureFtpdUnavailable } from '../helpers/pure-ftpd';
import { tempDir } from '../helpers/servers';

const skip = pureFtpdUnavailable();
const MiB = 1024 * 1024;
const ARCHIVE = '/archive';
const logDir = tempDir('ftp-ingest-real-ftp-');
const proxy = ftpProxy();
const pipeline: Pipeline | undefined = skip
  ? undefined
  : usePipeline({
      ftpServer: 'pure-ftpd',
      ftpVia: (ftp) => proxy.start(ftp),
      sources: [
        { id: 'del', remoteAction: { type: 'delete' }, processor: countingProcessor(path.join(logDir, 'del.log')) },
        {
          id: 'ren',
          remoteAction: { type: 'rename-to-dir', dir: ARCHIVE },
          processor: countingProcessor(path.join(logDir, 'ren.log')),
        },
        { id: 'keep' },
        { id: 'denied', maxTries: 1 },
      ],
    });

async function untilSettled(p: Pipeline, sourceId: string, names: string[], timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await Promise.all(names.map((name) => p.ledger.get(sourceId, name)));
    if (records.every((r) => r?.status === 'DONE' || r?.status === 'REJECTED')) {
      for (const record of records) if (record?.workflowId) await p.fileResult(record); // moved, remote action done
      return;
    }
    if (Date.now() > deadline) {
      assert.fail(`${sourceId} not settled: ${JSON.stringify(records.map((r) => [r?.path, r?.status, r?.error]))}`);
    }
    await p.poll(sourceId);
    await sleep(500);
  }
}

/** For a failure's message: where `got` differs from `want` (first and last offset, how many bytes). */
function differingRanges(got: Buffer, want: Buffer): string {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    if (first < 0) first = i;
    last = i;
    count++;
  }
  const from = (at: number): number => want.indexOf(got.subarray(at, at + 64));
  const sources = [first, first + 65_536, first + 1_000_000].map((at) => `${at}←${from(at)}`).join(' ');
  return `differs in ${count} bytes from ${first} to ${last}; bytes there came from the remote file's offsets ${sources}`;
}

describe('pipeline on a real pure-ftpd', { skip }, () => {
  test('delete after commit; a cut download resumes with REST; MLSD times to the second', async (t) => {
    const p = pipeline!;
    const expected = new Map<string, string>();
    const when = new Date('2023-05-06T07:08:09.789Z');
    const big = randomBytes(3 * MiB);
    p.pureFtpd!.put('del/big.bin', big, when);
    expected.set('big.bin', sha256(big));
    for (const name of ['a.csv', 'with space.csv', '-dash.csv']) {
      p.pureFtpd!.put(`del/${name}`, `${name}\n`, when);
      expected.set(name, sha256(`${name}\n`));
    }
    proxy.cutData({ afterBytes: MiB + 4321, times: 2, modes: ['reset', 'end'] });
    await p.startWorker();
    await untilSettled(p, 'del', [...expected.keys()]);

    const record = await p.ledger.get('del', 'big.bin');
    t.diagnostic(
      `big.bin: tries ${record?.tries}; proxy cuts ${proxy.stats.cuts}, REST offsets ${proxy.stats.restOffsets.join(',')}`,
    );
    assert.equal(record?.mtimeMs, Math.floor(when.getTime() / 1000) * 1000, 'MLSD gives the mtime to the second');
    assert.equal(proxy.stats.cuts, 2);
    // A transfer that fails before its first byte (see the download's guards) restarts from 0: at least one resume.
    assert.ok(
      proxy.stats.restOffsets.some((n) => n > 0),
      'a cut download resumed with REST',
    );
    assert.equal(record?.tries, 1, 'resumed within the first attempt');
    for (const [name, digest] of expected) {
      const r = await p.ledger.get('del', name);
      const out = p.processed('del', name);
      const got = fs.existsSync(out) ? sha256(fs.readFileSync(out)) : 'missing';
      if (r?.status !== 'DONE' || got !== digest) {
        const size = got === 'missing' ? got : fs.statSync(out).size;
        const differs = name === 'big.bin' && got !== 'missing' ? differingRanges(fs.readFileSync(out), big) : '';
        t.diagnostic(`LOST ${name}: ${r?.status} ${r?.error} out=${size} ${differs}`);
      }
    }
    assert.deepEqual(fs.readdirSync(p.remote('del', '')), [], 'every committed file was deleted on the server');
    await accountSource(p, {
      scenario: 'real-ftp-server',
      sourceId: 'del',
      expected,
      invocationsLog: path.join(logDir, 'del.log'),
    });
  });

  test('rename-to-dir after commit, into the same sub-path under the archive', async () => {
    const p = pipeline!;
    const expected = new Map<string, string>();
    for (const name of ['r1.csv', 'r2.csv', 'ünïcode.csv']) {
      p.pureFtpd!.put(`ren/${name}`, `${name}\n`);
      expected.set(name, sha256(`${name}\n`));
    }
    await untilSettled(p, 'ren', [...expected.keys()]);
    const archive = path.join(p.pureFtpd!.root, ARCHIVE);
    assert.deepEqual(fs.readdirSync(archive).sort(), [...expected.keys()].sort());
    assert.deepEqual(fs.readdirSync(p.remote('ren', '')), []);
    await accountSource(p, {
      scenario: 'real-ftp-server-rename',
      sourceId: 'ren',
      expected,
      invocationsLog: path.join(logDir, 'ren.log'),
    });
  });

  test('a modified file is a new version: processed again, with a new token', async () => {
    const p = pipeline!;
    p.pureFtpd!.put('keep/v.csv', 'version one\n', new Date('2024-01-01T00:00:00Z'));
    await untilSettled(p, 'keep', ['v.csv']);
    const first = await p.ledger.get('keep', 'v.csv');
    assert.equal((await p.poll('keep')).claimed, 0, 'unchanged: not taken again');
    p.pureFtpd!.put('keep/v.csv', 'version two, longer\n', new Date('2024-01-01T00:00:05Z'));
    assert.equal((await p.poll('keep')).claimed, 1);
    await sleep(200);
    const deadline = Date.now() + 20_000;
    let second = await p.ledger.get('keep', 'v.csv');
    while (second?.status !== 'DONE' || second.version === first?.version) {
      assert.ok(Date.now() < deadline, 'the new version is DONE in time');
      await sleep(200);
      second = await p.ledger.get('keep', 'v.csv');
    }
    await p.fileResult(second);
    assert.ok((second.token ?? 0) > (first?.token ?? 0));
    assert.equal(second.mtimeMs, Date.parse('2024-01-01T00:00:05Z'));
    assert.equal(fs.readFileSync(p.processed('keep', 'v.csv'), 'utf8'), 'version two, longer\n');
    assert.equal(await p.ledger.commits('keep'), 2);
  });

  test('permission denied on read: REJECTED with the reason, one dead letter, nothing kept locally', async () => {
    const p = pipeline!;
    const file = p.pureFtpd!.put('denied/secret.csv', 'not for the ftp user\n');
    fs.chownSync(file, 0, 0);
    fs.chmodSync(file, 0o600);
    await untilSettled(p, 'denied', ['secret.csv']);
    const record = await p.ledger.get('denied', 'secret.csv');
    assert.equal(record?.status, 'REJECTED');
    assert.match(record.error ?? '', /cannot read secret\.csv: ftp file error \(550\)/);
    assert.equal((await p.ledger.deadLetters('denied')).length, 1);
    assert.equal(fs.existsSync(p.processed('denied', 'secret.csv')), false);
    const work = path.join(p.config.workDir, 'denied');
    assert.deepEqual(fs.existsSync(work) ? fs.readdirSync(work) : [], []);
  });
});
