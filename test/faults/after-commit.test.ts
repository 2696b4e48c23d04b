// Fault scenario: nothing lost after the commit (issue "Nothing lost after the commit", items 1, 3, 5, 6).
// Two clusters share one ledger and one FTP server; the source deletes files after their commit. The server's
// DELE is held, so cluster A's file workflows sit between their commit and the remote action; then A dies whole
// and never comes back. Every committed version must already be in A's processedDir (published before the
// commit), and cluster B's polls must finish the owed deletes, except for files rewritten meanwhile with the
// same size: those are new versions, processed (not deleted unprocessed), and the old version's output stays.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { FileSystem } from 'ftp-srv';
import type { LedgerRecord } from '../../src/ledger';
import { useClusters } from '../helpers/clusters';
import { report, sha256 } from '../helpers/faults';
import { publishedFile, publishedPaths } from '../helpers/published';
import { waitUntil } from '../helpers/fault-run';

const SOURCE = 'after';
const SLOW = 'slow-uploads';
const A = 'cluster-a';
const B = 'cluster-b';
const FILES = 8;
const REWRITTEN = 3;

const env = useClusters({
  clusters: [A, B],
  workersPerCluster: 1,
  configOverrides: { worker: { maxConcurrentActivities: 20 } },
  sources: [
    { id: SOURCE, recursive: true, remoteAction: { type: 'delete' }, maxConnections: 16, retryTimeout: '8s' },
    // Both clusters list this one every second: "stable" must be a time, not two listings moments apart.
    { id: SLOW, requireStableSize: true, stableTime: '3s', versionPolicy: 'ignore', retryTimeout: '8s' },
  ],
});

// The in-process FTP server's DELE waits while `held` is set; released deletes fail (their client is gone).
let held: { release: () => void; promise: Promise<void> } | undefined;
const holdDeletes = (): void => {
  let release = (): void => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  held = { release, promise };
};
const proto = FileSystem.prototype as unknown as { delete(this: FileSystem, name: string): Promise<unknown> };
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
const originalDelete = proto.delete;
proto.delete = async function (this: FileSystem, name: string) {
  if (held) {
    await held.promise;
    throw new Error('delete refused: held by the test, its client is gone');
  }
  return originalDelete.call(this, name);
};

const recordOf = (name: string): Promise<LedgerRecord | undefined> => env.ledger.get(SOURCE, name);
const remoteFile = (name: string): string => path.join(env.ftp.root, SOURCE, name);

describe('fault: a cluster dies between commit and remote action', { timeout: 240_000 }, () => {
  test('outputs are published before the commit; the owed deletes are finished by the other cluster', async (t) => {
    const [a, b] = [env.cluster(A), env.cluster(B)];
    const versions = new Map<string, string>(); // `${path}@${version}` → sha-256 of that version
    const names = Array.from({ length: FILES }, (_, i) => `f-${i}.csv`);
    for (const [i, name] of names.entries()) {
      const content = randomBytes(1_000 + i * 10);
      env.putRemote(SOURCE, name, content);
      fs.utimesSync(remoteFile(name), new Date(), new Date(Date.now() - 60_000));
      versions.set(name, sha256(content));
    }

    holdDeletes();
    await a.schedule();
    const committed = await waitUntil(
      `${FILES} files DONE by ${A} with their delete owed`,
      async () => {
        const records = await Promise.all(names.map(recordOf));
        const owed = records.filter((r) => r?.status === 'DONE' && r.owner === A && r.action === 'pending');
        return owed.length === FILES ? (records as LedgerRecord[]) : undefined;
      },
      90_000,
    );
    // A dies in the window (its workflows wait in the held DELE) and never comes back.
    await a.stop();
    held?.release();
    held = undefined;

    for (const record of committed) {
      const output = publishedFile(a.processedDir(SOURCE), record.path);
      assert.ok(fs.existsSync(output), `${record.path}: committed by ${A}, so already published`);
      assert.equal(sha256(fs.readFileSync(output)), versions.get(record.path), `${record.path}: its output`);
      assert.ok(fs.existsSync(remoteFile(record.path)), `${record.path}: not deleted yet`);
    }

    // While no cluster acts, some files get a new version of the same size (only the mtime differs).
    const rewritten = names.slice(0, REWRITTEN);
    const newVersions = new Map<string, string>();
    for (const name of rewritten) {
      const content = randomBytes(fs.statSync(remoteFile(name)).size);
      fs.writeFileSync(remoteFile(name), content);
      newVersions.set(name, sha256(content));
    }

    await b.schedule();
    await waitUntil(
      'every remote file deleted, the rewritten ones only after their new version was committed',
      () => Promise.resolve(names.some((name) => fs.existsSync(remoteFile(name))) ? undefined : true),
      90_000,
    );
    const records = new Map((await Promise.all(names.map(recordOf))).map((r) => [r?.path ?? '', r]));
    for (const name of names) {
      const record = records.get(name);
      assert.equal(record?.status, 'DONE', `${name} DONE`);
      assert.equal(record?.action, 'deleted', `${name}: the delete it owed ran once`);
      if (newVersions.has(name)) {
        assert.equal(record?.owner, B, `${name}: its new version was processed by ${B}, not deleted unprocessed`);
        const output = publishedFile(b.processedDir(SOURCE), name);
        assert.equal(sha256(fs.readFileSync(output)), newVersions.get(name), `${name}: the new version's output`);
      } else {
        assert.equal(record?.owner, A, `${name}: ${A}'s commit stands`);
      }
      const first = publishedFile(a.processedDir(SOURCE), name);
      assert.equal(sha256(fs.readFileSync(first)), versions.get(name), `${name}: the first version's output stays`);
    }

    const outputs = [...publishedPaths(a.processedDir(SOURCE)), ...publishedPaths(b.processedDir(SOURCE))];
    const commits = await env.ledger.commits(SOURCE);
    const expectedVersions = FILES + REWRITTEN;
    assert.equal(commits, expectedVersions, 'one commit per version');
    assert.equal(outputs.length, expectedVersions, 'one output per version');
    t.diagnostic(
      `${FILES} files committed by ${A}, which died with ${FILES} deletes owed; ${REWRITTEN} rewritten with the ` +
        `same size; ${B} finished ${FILES - REWRITTEN} deletes and processed ${REWRITTEN} new versions; ` +
        `commits ${commits}, outputs ${outputs.length}`,
    );
    report({
      scenario: 'after-commit',
      files: expectedVersions,
      done: expectedVersions,
      commits,
      duplicates: Math.max(0, commits - expectedVersions) + Math.max(0, outputs.length - expectedVersions),
      lost: expectedVersions - outputs.length,
      inProgress: 0,
      invocations: commits,
      kills: 1,
    });
  });

  test('a file replaced by a directory of the same name; a path that needs a folder where a file is', async () => {
    const b = env.cluster(B);
    env.putRemote(SOURCE, 'clash', 'a file named clash\n');
    const first = await waitUntil(
      'clash DONE',
      async () => {
        const r = await recordOf('clash');
        return r?.status === 'DONE' && r.action === 'deleted' ? r : undefined;
      },
      60_000,
    );
    // The server now has a folder where the file was: its files are new paths, published beside the old output.
    env.putRemote(SOURCE, 'clash/inner.csv', 'inside the folder\n');
    const inner = await waitUntil(
      'clash/inner.csv DONE',
      async () => {
        const r = await recordOf('clash/inner.csv');
        return r?.status === 'DONE' ? r : undefined;
      },
      60_000,
    );
    assert.equal(inner.owner, B);
    assert.ok(fs.existsSync(publishedFile(b.processedDir(SOURCE), 'clash')), 'the old file output stays');
    assert.ok(fs.existsSync(publishedFile(b.processedDir(SOURCE), 'clash/inner.csv')));

    // A remote folder named like the old output's version folder: its file would need a folder where the old
    // output file is. It ends REJECTED as a type conflict, instead of a remote action failing forever.
    env.putRemote(SOURCE, `@${first.version}/clash/deeper.csv`, 'a hostile layout\n');
    const conflict = await waitUntil(
      'the conflicting path REJECTED',
      async () => {
        const r = await recordOf(`@${first.version}/clash/deeper.csv`);
        return r?.status === 'REJECTED' ? r : undefined;
      },
      60_000,
    );
    assert.match(conflict.error ?? '', /^type-conflict: /);
    assert.ok((await env.ledger.deadLetters(SOURCE)).some((d) => d.path === conflict.path));
  });

  test('slow uploads seen by two clusters: only the complete files are taken', async (t) => {
    const [a, b] = [env.cluster(A), env.cluster(B)];
    await a.start();
    await Promise.all([a.schedule(), b.schedule()]);
    const uploads = Array.from({ length: 4 }, (_, i) => ({
      name: `upload-${i}.bin`,
      content: randomBytes(6 * 64 * 1024),
    }));
    const chunk = 64 * 1024;
    // 64 KiB every 1 to 2.5 s, all files at once: each file takes 6 to 15 s to arrive.
    await Promise.all(
      uploads.map(async ({ name, content }, i) => {
        const file = path.join(env.ftp.root, SLOW, name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        for (let at = 0; at < content.length; at += chunk) {
          fs.appendFileSync(file, content.subarray(at, at + chunk));
          await sleep(1_000 + ((i * 7 + at / chunk) % 4) * 500);
        }
      }),
    );
    const diagnose = async (): Promise<string> =>
      JSON.stringify({
        records: await Promise.all(uploads.map(({ name }) => env.ledger.get(SLOW, name))),
        health: await env.ledger.health(SLOW),
        seen: await env.redis.hgetall(`ftpi:{${SLOW}}:seen`),
      });
    const records = await waitUntil(
      'every upload DONE',
      async () => {
        const all = await Promise.all(uploads.map(({ name }) => env.ledger.get(SLOW, name)));
        return all.every((r) => r?.status === 'DONE') ? (all as LedgerRecord[]) : undefined;
      },
      60_000,
    ).catch(async (err: unknown) => {
      t.diagnostic(await diagnose());
      throw err;
    });
    for (const [i, record] of records.entries()) {
      const upload = uploads[i]!;
      assert.equal(record.size, upload.content.length, `${upload.name}: committed whole, not truncated`);
      const cluster = record.owner === A ? a : b;
      const output = publishedFile(cluster.processedDir(SLOW), upload.name);
      assert.equal(sha256(fs.readFileSync(output)), sha256(upload.content), `${upload.name}: complete output`);
    }
    assert.equal(await env.ledger.commits(SLOW), uploads.length, 'one commit per file, no truncated version');
    t.diagnostic(`owners: ${records.map((r) => r.owner).join(' ')}`);
  });
});
