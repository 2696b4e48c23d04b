// Fault scenario "hostile input" (on the in-process ftp-srv): hostile names are REJECTED at listing time with
// `unsafe-name: <reason>` and one dead letter, never written to disk; legal but odd names (leading dash, unicode,
// spaces, 255-byte names, empty files) are processed DONE; a file deleted between listing and download, a file
// that changes during download and a full local disk each end their attempt with a clear recorded error; nothing
// is written outside workDir/processedDir and nothing is DONE that was not fully processed.
// Permission denied needs a server that does not run as root: see real-ftp-server.test.ts (pure-ftpd).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { FileSystem } from 'ftp-srv';
import { accountSource, countingProcessor, sha256 } from '../helpers/faults';
import { usePipeline } from '../helpers/pipeline';
import { tempDir } from '../helpers/servers';
import { publishedPaths } from '../helpers/published';

const SOURCE = 'hostile';
const KiB = 1024;
const invocationsLog = path.join(tempDir('ftp-ingest-hostile-'), 'invocations.log');

const pipeline = usePipeline({
  sources: [{ id: SOURCE, maxTries: 2, processor: countingProcessor(invocationsLog) }],
});

// Legal names: must be processed like any other.
const GOOD: Record<string, string | Buffer> = {
  'plain.csv': 'a,b\n1,2\n',
  '-rf': 'leading dash\n',
  '--help.csv': 'two dashes\n',
  'ünïcödé-日本語.csv': 'unicode\n',
  ' spaced  name .csv': 'spaces\n',
  [`${'n'.repeat(251)}.csv`]: '255-byte name\n',
  [`${'é'.repeat(125)}.csv`]: '254-byte name of two-byte characters\n',
  'empty.csv': '',
  'grow.csv': 'first version\n', // changes during its first download (see the read hook)
};
// Hostile names that a Linux folder can hold: ftp-srv lists them as they are.
const ON_DISK: Record<string, string> = {
  'new\nline.csv': 'control character U+000a',
  'esc\u001b[31m.csv': 'control character U+001b',
  'tab\there.csv': 'control character U+0009',
  'cr\rhere.csv': 'control character U+000d',
  'del\u007f.csv': 'control character U+007f',
  'back\\slash.csv': 'backslash',
};
// Names no folder can hold, but a server (or a hostile peer) can list: injected into ftp-srv's listings.
const INJECTED: Record<string, string> = {
  '/etc/passwd': 'slash inside a name',
  '../../escape.csv': 'slash inside a name',
  [`${'x'.repeat(256)}.csv`]: 'segment longer than 255 bytes',
};
// Listed as `.` and `..`: directory self-references, which the listing parser skips (no record, nothing read).
const SELF_REFERENCES = ['.', '..'];
const VANISH = 'vanish.csv';
const HUGE = 'huge.bin';
const WORK_DISK_BYTES = 1024 * KiB;

// Server-side hooks, as an uploader acting between our listing and our download would.
const onRead = new Map<string, (fsPath: string) => void>([
  [VANISH, (file) => fs.rmSync(file)],
  ['grow.csv', (file) => fs.appendFileSync(file, 'appended while we were downloading\n')],
]);
type Listed = fs.Stats & { name: string };
const proto = FileSystem.prototype as unknown as {
  list(this: FileSystem, dir: string): Promise<Listed[]>;
  read(this: FileSystem, name: string, options?: unknown): Promise<unknown>;
};
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
const { list, read } = proto;
proto.list = async function (this: FileSystem, dir: string) {
  const entries = await list.call(this, dir);
  const template = entries.find((e) => e.name === 'plain.csv');
  if (!template) return entries;
  const fake = [...Object.keys(INJECTED), ...SELF_REFERENCES].map((name) =>
    Object.assign(Object.create(Object.getPrototypeOf(template) as object) as Listed, template, { name }),
  );
  return [...entries, ...fake];
};
proto.read = async function (this: FileSystem, name: string, options?: unknown) {
  const hook = onRead.get(path.posix.basename(name));
  if (hook) {
    onRead.delete(path.posix.basename(name));
    hook(path.join(pipeline.ftp.root, SOURCE, path.posix.basename(name)));
  }
  return read.call(this, name, options);
};
after(() => Object.assign(proto, { list, read }));

function mountSmallWorkDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${WORK_DISK_BYTES}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) return `not mounted (${mounted.stderr.trim()})`;
  after(() => void spawnSync('umount', ['-l', dir]));
  return 'tmpfs';
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(e.parentPath, e.name));
}

test('hostile input: unsafe names rejected, odd names processed, vanished/changed/full-disk recorded', async (t) => {
  const started = Date.now();
  const disk = mountSmallWorkDir(pipeline.config.workDir);
  t.diagnostic(`workDir disk: ${disk}`);
  assert.equal(disk, 'tmpfs', 'the full-disk case needs a small tmpfs for workDir (root can mount here)');

  const expected = new Map<string, string>();
  for (const [name, content] of Object.entries(GOOD)) {
    pipeline.putRemote(SOURCE, name, content);
    expected.set(name, sha256(content));
  }
  expected.set('grow.csv', sha256(`${GOOD['grow.csv'] as string}appended while we were downloading\n`));
  for (const name of Object.keys(ON_DISK)) pipeline.putRemote(SOURCE, name, 'hostile\n');
  pipeline.putRemote(SOURCE, VANISH, 'gone before the download\n');
  await pipeline.startWorker();
  // The full disk comes once grow.csv is done: filling the shared tmpfs during grow.csv's first download would end
  // that attempt with ENOSPC instead of the change this test looks for (seen once in CI).
  let hugePut = false;
  const putHugeOnceGrowIsDone = async (): Promise<void> => {
    if (hugePut || (await pipeline.ledger.get(SOURCE, 'grow.csv'))?.status !== 'DONE') return;
    pipeline.putRemote(SOURCE, HUGE, Buffer.alloc(3 * WORK_DISK_BYTES, 7));
    hugePut = true;
  };

  const unsafe = { ...ON_DISK, ...INJECTED };
  const settled = async (): Promise<boolean> => {
    for (const name of expected.keys()) {
      if ((await pipeline.ledger.get(SOURCE, name))?.status !== 'DONE') return false;
    }
    const huge = await pipeline.ledger.get(SOURCE, HUGE);
    const vanish = await pipeline.ledger.get(SOURCE, VANISH);
    return huge?.status === 'REJECTED' && vanish?.status === 'RETRY_WAIT';
  };
  const deadline = Date.now() + 50_000;
  while (!(await settled())) {
    if (Date.now() > deadline) {
      const { records } = await pipeline.ledger.list(SOURCE, { count: 1000 });
      assert.fail(`not settled: ${JSON.stringify(records.map((r) => [r.path, r.status, r.error]))}`);
    }
    await putHugeOnceGrowIsDone();
    await pipeline.poll(SOURCE);
    await sleep(1_000);
  }

  // Hostile names: REJECTED at once (no claim, no tries), the reason recorded, exactly one dead letter each.
  const deadLetters = await pipeline.ledger.deadLetters(SOURCE, 1000);
  for (const [name, reason] of Object.entries(unsafe)) {
    const record = await pipeline.ledger.get(SOURCE, name);
    assert.equal(record?.status, 'REJECTED', `${JSON.stringify(name)} is REJECTED`);
    assert.equal(record.error, `unsafe-name: ${reason}`, `${JSON.stringify(name)}: its reason`);
    assert.equal(record.token, undefined, `${JSON.stringify(name)} was never claimed`);
    assert.equal(deadLetters.filter((d) => d.path === name).length, 1, `one dead letter for ${JSON.stringify(name)}`);
  }
  for (const name of SELF_REFERENCES) assert.equal(await pipeline.ledger.get(SOURCE, name), undefined);
  // A file deleted between listing and download: the attempt ends, with the reason; it is not listed any more.
  const vanished = await pipeline.ledger.get(SOURCE, VANISH);
  t.diagnostic(`${VANISH}: ${vanished?.status} ${vanished?.error}`);
  assert.match(vanished?.error ?? '', /cannot read vanish\.csv: .*(550|551).*ENOENT|no such file/i);
  // A full local disk: each attempt fails with ENOSPC, REJECTED at maxTries; its partial download is removed.
  const huge = await pipeline.ledger.get(SOURCE, HUGE);
  t.diagnostic(`${HUGE}: ${huge?.status} tries=${huge?.tries} ${huge?.error}`);
  assert.match(huge?.error ?? '', /ENOSPC/);
  assert.equal(deadLetters.filter((d) => d.path === HUGE).length, 1);
  // A file that changed during its download: that attempt was released with the reason, then the new version
  // was processed (the DONE one is the full, final content: checked by the accounting below).
  const growAttempts: string[] = [];
  for await (const wf of pipeline.client.workflow.list({ query: `WorkflowType = 'fileWorkflow'` })) {
    if (!wf.workflowId.startsWith(`ftp/${SOURCE}/grow.csv`)) continue;
    const result = (await pipeline.client.workflow.getHandle(wf.workflowId).result()) as {
      outcome: string;
      error?: string;
    };
    growAttempts.push(`${result.outcome}${result.error ? `: ${result.error}` : ''}`);
  }
  t.diagnostic(`grow.csv attempts: ${growAttempts.join(' | ')}`);
  assert.ok(growAttempts.some((a) => /^released: remote file changed during download/.test(a)));

  // Nothing outside workDir/processedDir; nothing left in workDir; processedDir holds exactly the good files.
  const allowed = ['ftp-root', 'temporal', 'redis', 'work', 'processed'].map((d) => path.join(pipeline.dataDir, d));
  const stray = filesUnder(pipeline.dataDir).filter(
    (file) =>
      !allowed.some((dir) => file.startsWith(dir + path.sep)) &&
      !/^(config\.json|workflow-bundle\.js|[^/]*\.log)$/.test(path.relative(pipeline.dataDir, file)),
  );
  assert.deepEqual(stray, [], 'no file outside the servers, workDir and processedDir');
  assert.deepEqual(filesUnder(pipeline.config.workDir), [], 'no leftovers in workDir');
  assert.ok(!fs.existsSync(path.join(pipeline.dataDir, 'escape.csv')) && !fs.existsSync('/escape.csv'));
  const outputs = publishedPaths(pipeline.processed(SOURCE, ''));
  assert.deepEqual(outputs.sort(), [...expected.keys()].sort());

  const figures = await accountSource(pipeline, {
    scenario: 'hostile-input',
    sourceId: SOURCE,
    expected,
    invocationsLog,
  });
  t.diagnostic(
    `good=${figures.files} done=${figures.done} unsafe=${Object.keys(unsafe).length} dead-letters=${deadLetters.length} seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
  );
});
