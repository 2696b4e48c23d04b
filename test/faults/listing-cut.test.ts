// Fault scenario "listing cut short": a listing whose data connection is closed early ends like a complete one
// (ftp-srv and pure-ftpd both answer 226 and basic-ftp reports no error), so a poll may see only part of a
// directory. Absence from one listing must then decide nothing that cannot be undone: a finished record is
// forgotten (retention) only once the server says the file is gone, and a remote action still owed is run or found
// moot by asking the file itself. And the action asks the file right before it acts, never an older listing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { candidateOf, claimOptionsOf, remoteOf, type ActivityDeps } from '../../src/activities/deps';
import { sweepDue } from '../../src/activities/sweep-due';
import { parseConfig, type SourceConfig } from '../../src/config';
import { listOptionsOf } from '../../src/ftp/list';
import { FtpTransientError, RemoteClients, type RemoteEntry } from '../../src/remote';
import { ftpProxy } from '../helpers/ftp-proxy';
import { useLedgerFixture } from '../helpers/ledger';
import { tempDir, testFtp } from '../helpers/servers';

const fixture = useLedgerFixture();
const ftp = testFtp();
const proxy = ftpProxy();
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const T1 = new Date('2025-05-01T00:00:00Z');

/** A source over `/<id>` of the test's ftp-srv (or a proxy before it), its deps, and files put there (mtime T1). */
async function sourceWith(
  id: string,
  remoteAction: string,
  names: string[],
  via?: { host: string; port: number },
): Promise<{ deps: ActivityDeps; source: SourceConfig }> {
  const server = await ftp;
  const work = tempDir('ftp-ingest-listing-cut-');
  fs.mkdirSync(path.join(server.root, id));
  for (const name of names) putRemote(server.root, id, name, `${name}\n`, T1);
  const env = { PW: server.password };
  const config = parseConfig(
    {
      workDir: path.join(work, 'work'),
      processedDir: path.join(work, 'processed'),
      sources: [
        {
          id,
          host: via?.host ?? server.host,
          port: via?.port ?? server.port,
          user: server.user,
          passwordEnv: 'PW',
          remoteDir: `/${id}`,
          remoteAction: { type: remoteAction },
          requireStableSize: false,
          maxAcceptPerPoll: 1000,
          maxInFlight: 1000,
        },
      ],
    },
    env,
  );
  const deps: ActivityDeps = { config, ledger: fixture.ledger, remote: new RemoteClients(), hostTaskQueue: 'h', env };
  return { deps, source: config.sources[0]! };
}

function putRemote(root: string, id: string, name: string, content: string, mtime: Date): string {
  const file = path.join(root, id, name);
  fs.writeFileSync(file, content);
  fs.utimesSync(file, mtime, mtime);
  return file;
}

/** Every file listed, claimed and committed, as a cluster's finished pipeline leaves them. */
async function listAndCommit(deps: ActivityDeps, source: SourceConfig, actionGraceMs?: number): Promise<RemoteEntry[]> {
  const listed = await remoteOf(deps, source).withSession((session) => session.list(listOptionsOf(source)));
  const { claims } = await deps.ledger.claimBatch(
    source.id,
    listed.map(candidateOf),
    claimOptionsOf('A', source, 'run-1'),
  );
  assert.equal(claims.length, listed.length);
  for (const claim of claims) {
    assert.ok((await deps.ledger.commit(source.id, claim.path, claim.token, '{}', { actionGraceMs })).ok);
  }
  return listed;
}

function sweep(deps: ActivityDeps, source: SourceConfig, listed: RemoteEntry[]): ReturnType<typeof sweepDue> {
  return new MockActivityEnvironment({}, { logger: quiet }).run(() =>
    sweepDue(deps, source, { listed, wanted: listed }),
  );
}

test('retention: finished files a short listing left out are kept; only those the server says are gone are forgotten', async () => {
  const names = Array.from({ length: 30 }, (_, i) => `f-${String(i).padStart(2, '0')}.csv`);
  const { deps, source } = await sourceWith('retention', 'none', names);
  const listed = await listAndCommit(deps, source);
  assert.equal(listed.length, 30);
  // 15 of the 20 files the cut listing misses are still on the server; 5 were deleted by someone else.
  const cut = listed.slice(0, 10);
  const deleted = names.slice(25);
  for (const name of deleted) fs.rmSync(path.join((await ftp).root, source.id, name));
  await sleep(20);
  const { forgotten } = await sweep(deps, { ...source, forgetAfterMs: 1 }, cut);
  assert.equal(forgotten, deleted.length, 'only the files the server no longer has are forgotten');
  for (const name of names) {
    const record = await deps.ledger.get(source.id, name);
    if (deleted.includes(name)) assert.equal(record, undefined, `${name}: forgotten`);
    else assert.equal(record?.status, 'DONE', `${name}: still on the server, its record kept (no second commit)`);
  }
  const stillThere = listed.filter((entry) => !deleted.includes(entry.path)).map(candidateOf);
  const again = await deps.ledger.claimBatch(source.id, stillThere, claimOptionsOf('B', source, 'run-2'));
  assert.deepEqual(
    again.claims.map((c) => c.path),
    [],
    'a full listing after the cut claims nothing again',
  );
  await deps.remote.closeAll();
});

test('an owed remote action of a file a short listing left out is run, not dropped', async () => {
  const { deps, source } = await sourceWith('owed-unlisted', 'delete', ['a.csv', 'b.csv']);
  await listAndCommit(deps, source, 1); // committed by a cluster that died before its remote actions
  await sleep(20);
  const remote = path.join((await ftp).root, source.id, 'b.csv');
  fs.rmSync(path.join((await ftp).root, source.id, 'a.csv')); // a.csv is gone for real
  const swept = await sweep(deps, source, []); // a listing cut before its first line
  assert.equal(swept.remoteActions, 2);
  assert.equal((await deps.ledger.get(source.id, 'b.csv'))?.action, 'deleted');
  assert.equal(fs.existsSync(remote), false, 'the committed version was deleted, as the source says');
  assert.match((await deps.ledger.get(source.id, 'a.csv'))?.action ?? '', /^gone/);
  await deps.remote.closeAll();
});

test('an owed remote action asks the file right before it acts: a version uploaded after the listing is left alone', async () => {
  const { deps, source } = await sourceWith('owed-newer', 'delete', ['a.csv']);
  const listed = await listAndCommit(deps, source, 1);
  await sleep(20);
  // The poll listed V1; before its sweep reached the owed action, the uploader replaced the file with V2.
  const remote = putRemote(
    (await ftp).root,
    source.id,
    'a.csv',
    'version 2, never processed\n',
    new Date('2025-05-01T00:10:00Z'),
  );
  const swept = await sweep(deps, source, listed);
  assert.equal(swept.remoteActions, 1);
  assert.match((await deps.ledger.get(source.id, 'a.csv'))?.action ?? '', /^skipped/);
  assert.equal(fs.readFileSync(remote, 'utf8'), 'version 2, never processed\n', 'V2 is still on the server');
  await deps.remote.closeAll();
});

test('a listing cut within a line is listed again, never taken as a file named after what arrived', async () => {
  const names = Array.from({ length: 300 }, (_, i) => `f-${String(i).padStart(3, '0')}.csv`);
  const { deps, source } = await sourceWith('cut-listing', 'none', names, await proxy.start(await ftp));
  const list = (): Promise<RemoteEntry[]> => remoteOf(deps, source).withSession((s) => s.list(listOptionsOf(source)));
  proxy.cutData({ afterBytes: 6_001, times: 1, modes: ['end'] }); // a FIN: looks like the end of the listing
  await assert.rejects(list(), FtpTransientError);
  assert.equal(proxy.stats.cuts, 1, 'the listing really was cut');
  assert.deepEqual(
    (await list()).map((e) => e.path),
    names,
    'listed again: whole',
  );
  await deps.remote.closeAll();
});
