// What an attempt that published and then lost its claim leaves in processedDir (releaseFile with a real Redis
// ledger): its copy goes where it is an extra, and stays where it is, or will be, the committed output.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ActivityDeps } from '../../src/activities/deps';
import { processedRelativePath } from '../../src/activities/local-paths';
import { publishAttempt } from '../../src/activities/publish';
import { releaseFile } from '../../src/activities/release';
import { parseConfig } from '../../src/config';
import { RemoteClients } from '../../src/remote';
import { ErrorTypes, type ClaimedFile } from '../../src/shared/types';
import { claimOptions, file, freshSource, sleep, useLedgerFixture } from '../helpers/ledger';
import { tempDir } from '../helpers/servers';

const fixture = useLedgerFixture();
const work = tempDir('ftp-ingest-unit-publish-');
const LEASE_MS = 100;

/** A cluster's activity deps: its own workDir, and the processedDir given (shared or its own). */
function clusterDeps(clusterId: string, sourceId: string, processedDir: string): ActivityDeps {
  const config = parseConfig(
    {
      clusterId,
      workDir: path.join(work, clusterId, 'work'),
      processedDir,
      sources: [{ id: sourceId, processor: { name: 'checksum' }, maxTries: 2 }],
    },
    {},
  );
  return { config, ledger: fixture.ledger, remote: new RemoteClients(), hostTaskQueue: 'unit-host' };
}

/** Claims the source's one file for the deps' cluster once the previous lease ran out. */
async function claim(deps: ActivityDeps, sourceId: string): Promise<ClaimedFile> {
  await sleep(LEASE_MS + 50);
  const options = claimOptions({ clusterId: deps.config.clusterId, leaseMs: LEASE_MS, maxTries: 2 });
  const { claims } = await fixture.ledger.claimBatch(sourceId, [file('a.csv', 1_700_000_000_000, 5)], options);
  assert.equal(claims.length, 1, `${deps.config.clusterId} claims a.csv`);
  const { leaseUntil: _leaseUntil, ...claimed } = claims[0]!;
  return claimed;
}

/** Downloads (a local copy in workDir) and publishes the claimed file; returns where the output is. */
async function publish(deps: ActivityDeps, claimed: ClaimedFile): Promise<string> {
  const localPath = path.join(claimed.sourceId, `attempt-${claimed.token}`, 'a.csv');
  fs.mkdirSync(path.join(deps.config.workDir, path.dirname(localPath)), { recursive: true });
  fs.writeFileSync(path.join(deps.config.workDir, localPath), '12345');
  const { processedPath } = await publishAttempt(deps, claimed, localPath);
  return path.join(deps.config.processedDir, processedPath);
}

const release = (deps: ActivityDeps, claimed: ClaimedFile, permanent = false): Promise<unknown> =>
  releaseFile(deps, { file: claimed, error: 'lost', permanent });

describe('releaseFile: the published copy of an attempt that lost its claim', () => {
  test('another cluster that publishes elsewhere holds the version: the copy goes before that cluster commits', async () => {
    const sourceId = freshSource();
    const a = clusterDeps('A', sourceId, path.join(work, sourceId, 'processed-a'));
    const b = clusterDeps('B', sourceId, path.join(work, sourceId, 'processed-b'));
    const first = await claim(a, sourceId);
    const copy = await publish(a, first);
    const second = await claim(b, sourceId);
    await publish(b, second);

    assert.deepEqual(await release(a, first), { status: 'superseded' });
    assert.equal(fs.existsSync(copy), false, "A's copy is an extra: B's output is in B's folder");
    assert.equal(fs.existsSync(path.join(b.config.processedDir, processedRelativePath(second))), true);
  });

  test('the holder publishes into the same folder (this cluster again, or a cluster sharing it): the copy stays', async () => {
    for (const [holder, shared] of [
      ['A', false],
      ['B', true],
    ] as const) {
      const sourceId = freshSource();
      const a = clusterDeps('A', sourceId, path.join(work, sourceId, 'processed-a'));
      const other = clusterDeps(holder, sourceId, shared ? a.config.processedDir : path.join(work, sourceId, 'x'));
      const first = await claim(a, sourceId);
      const copy = await publish(a, first);
      const second = await claim(other, sourceId);
      if (shared) await publish(other, second); // its marker and its own output, at the same path

      assert.deepEqual(await release(a, first), { status: 'superseded' });
      assert.equal(fs.existsSync(copy), true, `holder ${holder}: the file at this path is its output`);
    }
  });

  test('the version ends REJECTED after another attempt published it: no output is left', async () => {
    const sourceId = freshSource();
    const a = clusterDeps('A', sourceId, path.join(work, sourceId, 'processed-a'));
    const first = await claim(a, sourceId);
    const copy = await publish(a, first);
    const second = await claim(a, sourceId);
    assert.deepEqual(await release(a, first), { status: 'superseded' });
    assert.equal(fs.existsSync(copy), true, 'kept while the version is in flight on this cluster');

    assert.deepEqual(await release(a, second, true), { status: 'REJECTED' });
    assert.equal(fs.existsSync(copy), false, 'a REJECTED version has no output');
  });
});

describe('publishAttempt: a name that processedDir refuses', () => {
  test('too long there (ENAMETOOLONG): the attempt fails and costs a try, instead of a retry for ever', async () => {
    const sourceId = freshSource();
    // A processedDir whose path leaves no room for the output's (PATH_MAX 4096), while workDir's path is short.
    let deep = path.join(work, sourceId);
    while (deep.length < 4_070) deep = path.join(deep, 'd'.repeat(Math.min(200, 4_070 - deep.length)));
    const deps = clusterDeps('A', sourceId, deep);
    const claimed = await claim(deps, sourceId);
    const err = await publish(deps, claimed).then(
      () => assert.fail('published into a path longer than PATH_MAX'),
      (thrown: unknown) => thrown,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, ErrorTypes.attemptFailed);
    assert.match(err.message, /cannot publish a\.csv into processedDir: .*ENAMETOOLONG/);
  });
});
