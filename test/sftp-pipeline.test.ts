// The whole pipeline on an SFTP source: Debian's OpenSSH server (internal-sftp, a chrooted user, the host key pinned
// by fingerprint) behind a pacing proxy, real Temporal and Redis, and workers that are the same code as for FTP (the
// activities only see a RemoteClient). A demo-sized batch to DONE, remote delete and rename-to-dir after the commit,
// and a worker SIGKILLed mid-download whose download another worker resumes from the part file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { waitUntil } from './helpers/fault-run';
import { accountSource, countingProcessor, sha256 } from './helpers/faults';
import { usePipeline, type Pipeline } from './helpers/pipeline';
import { tempDir } from './helpers/servers';
import { countingProxy, type CountingProxy } from './helpers/tcp-proxy';

const MiB = 1024 * 1024;
const BATCH = 20;
const LARGE = 24 * MiB;
/** Paces what sshd sends, so that the large download lasts several seconds (sshd itself cannot be throttled). */
const BYTES_PER_SECOND = 4 * MiB;
const ARCHIVE = '/data/archive';
const logDir = tempDir('ftp-ingest-sftp-');

let proxy: CountingProxy | undefined;
const pipeline = usePipeline({
  sftpVia: async (sshd) => (proxy = await countingProxy(sshd, { bytesPerSecond: BYTES_PER_SECOND })),
  sources: [
    {
      id: 'batch',
      protocol: 'sftp',
      recursive: true,
      maxConnections: 3,
      processor: countingProcessor(path.join(logDir, 'batch.log')),
    },
    {
      id: 'del',
      protocol: 'sftp',
      remoteAction: { type: 'delete' },
      processor: countingProcessor(path.join(logDir, 'del.log')),
    },
    {
      id: 'ren',
      protocol: 'sftp',
      recursive: true,
      remoteAction: { type: 'rename-to-dir', dir: ARCHIVE },
      processor: countingProcessor(path.join(logDir, 'ren.log')),
    },
    { id: 'large', protocol: 'sftp' },
  ],
});

/** Polls until every named file is DONE (or REJECTED) and its workflow, remote action included, has ended. */
async function untilSettled(p: Pipeline, sourceId: string, names: string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await Promise.all(names.map((name) => p.ledger.get(sourceId, name)));
    if (records.every((r) => r?.status === 'DONE' || r?.status === 'REJECTED')) {
      for (const record of records) if (record?.workflowId) await p.fileResult(record);
      return;
    }
    if (Date.now() > deadline) {
      assert.fail(`${sourceId} not settled: ${JSON.stringify(records.map((r) => [r?.path, r?.status, r?.error]))}`);
    }
    await p.poll(sourceId);
    await sleep(500);
  }
}

/** The part files of a source's downloads in progress, with their sizes. */
function partFiles(p: Pipeline, sourceId: string): { file: string; size: number }[] {
  const dir = path.join(p.config.workDir, sourceId);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.part'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .map((file) => ({ file, size: fs.statSync(file).size }));
}

/** The `downloaded` events a worker process logged for a path. */
function downloads(p: Pipeline, workerName: string, filePath: string): { resumedFrom: number; bytes: number }[] {
  const log = path.join(p.dataDir, `${workerName}.log`);
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event?: string; path?: string; resumedFrom: number; bytes: number })
    .filter((entry) => entry.event === 'downloaded' && entry.path === filePath);
}

describe('pipeline on an SFTP source (OpenSSH)', () => {
  // First, with worker processes only: no in-process worker may pick up the download after the kill.
  test('SIGKILL mid-download: another worker resumes from the part file, same attempt', async (t) => {
    const p = pipeline;
    const content = randomBytes(LARGE);
    p.putRemote('large', 'large.bin', content);

    const victim = await p.spawnWorker('sftp-download-victim');
    assert.equal((await p.poll('large')).claimed, 1);
    const atKill = await waitUntil(
      'a third of the file in the part file',
      () => partFiles(p, 'large').find((part) => part.size >= LARGE / 3),
      90_000,
      50,
    );
    victim.process.kill('SIGKILL');
    await victim.stop();
    const partAfterKill = fs.statSync(atKill.file).size;
    const relayedAtKill = proxy!.bytesToClients;
    assert.ok(partAfterKill < LARGE, 'killed while the download was still running');

    const rescuer = await p.spawnWorker('sftp-download-rescuer');
    const record = await p.waitForStatus('large', 'large.bin', ['DONE'], 120_000);
    await p.fileResult(record);
    await rescuer.stop();

    const relayedAfter = proxy!.bytesToClients - relayedAtKill;
    const resumed = downloads(p, 'sftp-download-rescuer', 'large.bin');
    t.diagnostic(
      `file ${LARGE} B; part at kill ${partAfterKill} B; rescuer resumed from ${resumed.map((d) => d.resumedFrom).join(',')}; ` +
        `bytes from sshd after the kill ${relayedAfter} (all SSH traffic, listings included)`,
    );
    assert.equal(downloads(p, 'sftp-download-victim', 'large.bin').length, 0, 'the victim never finished');
    assert.equal(resumed.length, 1);
    assert.ok(resumed[0]!.resumedFrom >= partAfterKill, 'resumed at the part file, not from 0');
    assert.ok(relayedAfter < LARGE - partAfterKill / 2, 'after the kill only the rest was fetched');
    assert.equal(record.tries, 1, 'the same claim attempt finished the file');
    assert.equal(record.attempt, 1);
    assert.match(record.workflowId ?? '', /#1$/);
    assert.equal(sha256(fs.readFileSync(p.processed('large', 'large.bin'))), sha256(content));
    assert.deepEqual(partFiles(p, 'large'), [], 'no part file left behind');
  });

  test(`a demo-sized batch (${BATCH} files, folders included) ends DONE with identical checksums`, async (t) => {
    const p = pipeline;
    const expected = new Map<string, string>();
    for (let i = 0; i < BATCH; i++) {
      const name = i % 4 === 3 ? `sub/dir ${i}/file-${i}.csv` : `file-${i}.csv`;
      const content = `row ${i}\n`.repeat(200 + i * 37);
      p.putRemote('batch', name, content);
      expected.set(name, sha256(content));
    }
    await p.startWorker();
    const started = Date.now();
    await untilSettled(p, 'batch', [...expected.keys()]);
    t.diagnostic(`${BATCH} files DONE in ${Date.now() - started} ms`);
    for (const [name, digest] of expected) {
      const record = await p.ledger.get('batch', name);
      assert.equal(record?.status, 'DONE', name);
      assert.equal(record.tries, 1, name);
      assert.equal(record.result !== undefined && record.result.includes(digest), true, `${name}: processor checksum`);
    }
    const accounting = await accountSource(p, {
      scenario: 'sftp-batch',
      sourceId: 'batch',
      expected,
      invocationsLog: path.join(logDir, 'batch.log'),
    });
    t.diagnostic(JSON.stringify(accounting));
    assert.equal((await p.poll('batch')).claimed, 0, 'nothing is taken twice');
    assert.equal(fs.readdirSync(p.remote('batch', '')).length > 0, true, 'remoteAction none: files stay');
  });

  test('remoteAction delete and rename-to-dir after the commit, through the same session interface', async () => {
    const p = pipeline;
    const deleted = new Map<string, string>();
    for (const name of ['a.csv', 'with space.csv', '-dash.csv']) {
      p.putRemote('del', name, `${name}\n`);
      deleted.set(name, sha256(`${name}\n`));
    }
    const renamed = new Map<string, string>();
    for (const name of ['r1.csv', 'nested/deeper/r2.csv']) {
      p.putRemote('ren', name, `${name}\n`);
      renamed.set(name, sha256(`${name}\n`));
    }
    await Promise.all([untilSettled(p, 'del', [...deleted.keys()]), untilSettled(p, 'ren', [...renamed.keys()])]);

    for (const name of deleted.keys()) assert.equal((await p.ledger.get('del', name))?.action, 'deleted', name);
    assert.deepEqual(fs.readdirSync(p.remote('del', '')), [], 'every committed file was deleted on the server');

    const archive = path.join(path.dirname(p.sshd!.dataDir), ARCHIVE);
    for (const name of renamed.keys()) {
      const record = await p.ledger.get('ren', name);
      assert.equal(record?.action, `renamed to ${path.posix.join(ARCHIVE, name)}`, name);
      assert.equal(fs.readFileSync(path.join(archive, name), 'utf8'), `${name}\n`, `${name} is in the archive`);
      assert.equal(fs.existsSync(p.remote('ren', name)), false, `${name} left the source folder`);
    }
    await accountSource(p, {
      scenario: 'sftp-delete',
      sourceId: 'del',
      expected: deleted,
      invocationsLog: path.join(logDir, 'del.log'),
    });
    await accountSource(p, {
      scenario: 'sftp-rename',
      sourceId: 'ren',
      expected: renamed,
      invocationsLog: path.join(logDir, 'ren.log'),
    });
  });
});
