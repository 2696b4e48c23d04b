import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client } from 'basic-ftp';
import type { FtpEndpoint } from '../src/ftp/connection-options';
import { downloadToFile } from '../src/ftp/download';
import { FtpTransientError } from '../src/ftp/errors';
import { listRemote } from '../src/ftp/list';
import { FtpPool } from '../src/ftp/pool';
import { deleteRemote, renameRemote } from '../src/ftp/remote-actions';
import { pureFtpdUnavailable, testPureFtpd, type PureFtpdServer } from './helpers/pure-ftpd';
import { tempDir } from './helpers/servers';

const MAX_PER_IP = 2;
// Missing servers fail the tests (no skip): setup installs pure-ftpd, and these claims must be proven against it.
const unavailable = pureFtpdUnavailable();
const missing = (): Error => new Error(`pure-ftpd is needed for these tests: ${unavailable}`);
// Servers for the whole file, started at load time so that their teardown belongs to the file, not a test.
// The capped one serves only the 421 test: other tests' connections would count against its cap.
const started = unavailable
  ? undefined
  : { roomy: testPureFtpd(), capped: testPureFtpd({ maxClientsPerIp: MAX_PER_IP }) };
started?.roomy.catch(() => undefined); // a start failure is reported by the first test that awaits it
started?.capped.catch(() => undefined);
const pureFtpd = (kind: 'roomy' | 'capped' = 'roomy'): Promise<PureFtpdServer> =>
  started?.[kind] ?? Promise.reject(missing());

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function endpointOf(s: PureFtpdServer): FtpEndpoint {
  return { host: s.host, port: s.port, user: s.user, password: s.password, secure: false, timeoutMs: 10_000 };
}

async function connect(s: PureFtpdServer): Promise<Client> {
  const client = new Client(10_000);
  after(() => client.close());
  await client.access({ host: s.host, port: s.port, user: s.user, password: s.password });
  return client;
}

test('pure-ftpd: MLSD listing with exact second mtimes, recursion and hidden files', async () => {
  const s = await pureFtpd();
  const when = new Date('2023-05-06T07:08:09.000Z');
  s.put('list/a.csv', 'aaa', when);
  s.put('list/.hidden', 'h', when);
  s.put('list/sub/with space.csv', 'bb', when);
  s.put('list/sub/-rf', 'c', when);
  s.put('list/sub/deep/too-deep.csv', 'd', when);
  s.put('list/esc\u001b[31m.csv', 'e', when);
  const client = await connect(s);
  assert.ok((await client.features()).has('MLST'));
  const entries = await listRemote(client, { remoteDir: '/list', recursive: true, maxDepth: 1 });
  assert.deepEqual(client.availableListCommands, ['MLSD']);
  assert.deepEqual(
    entries.map((e) => [e.path, e.size, e.mtimeMs, e.precision, e.isHidden]).sort(),
    [
      ['.hidden', 1, when.getTime(), 's', true],
      ['a.csv', 3, when.getTime(), 's', false],
      ['sub/-rf', 1, when.getTime(), 's', false],
      ['sub/with space.csv', 2, when.getTime(), 's', false],
    ],
    'pure-ftpd leaves names with control characters out of its listings',
  );
  assert.equal(await client.pwd(), '/');
});

test('pure-ftpd: download resumes with REST', async () => {
  const s = await pureFtpd();
  const content = crypto.randomBytes(250_000);
  s.put('dl/file.bin', content);
  const part = path.join(tempDir(), 'file.bin.part');
  fs.writeFileSync(part, content.subarray(0, 100_000));
  const pool = new FtpPool(endpointOf(s), { maxConnections: 1 });
  after(() => pool.close());
  const result = await pool.withClient((client) =>
    downloadToFile(client, '/dl/file.bin', part, { expectedSize: content.length }),
  );
  assert.deepEqual(result, { bytesFetched: 150_000, resumedFrom: 100_000 });
  assert.ok(fs.readFileSync(part).equals(content));
});

test('pure-ftpd: rename and delete are idempotent', async () => {
  const s = await pureFtpd();
  s.put('act/in/a.csv', 'a');
  s.put('act/in/b.csv', 'b');
  s.put('act/done/.keep', '');
  const client = await connect(s);
  await deleteRemote(client, '/act/in/a.csv');
  await deleteRemote(client, '/act/in/a.csv');
  assert.equal(fs.existsSync(path.join(s.root, 'act/in/a.csv')), false);
  assert.equal(await renameRemote(client, '/act/in/b.csv', '/act/done'), '/act/done/b.csv');
  assert.equal(await renameRemote(client, '/act/in/b.csv', '/act/done'), '/act/done/b.csv');
  assert.equal(fs.readFileSync(path.join(s.root, 'act/done/b.csv'), 'utf8'), 'b');
});

test('pure-ftpd: 421 past the per-IP connection cap is a transient error; the pool stays under it', async () => {
  const s = await pureFtpd('capped');
  await until(() => s.sessions() === 0); // startup probes gone: the cap is all ours
  // A pool sized above the server's cap: the extra connection is refused with 421.
  const greedy = new FtpPool(endpointOf(s), { maxConnections: MAX_PER_IP + 1 });
  after(() => greedy.close());
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  let inside = 0;
  const holding = Promise.all(
    Array.from({ length: MAX_PER_IP }, () =>
      greedy.withClient(() => {
        inside += 1;
        return hold;
      }),
    ),
  );
  // Wait until both are logged in (a failed login ends the wait with its error).
  await Promise.race([holding, until(() => inside === MAX_PER_IP)]);
  await assert.rejects(
    greedy.withClient((client) => client.pwd()),
    (err: Error) => {
      assert.ok(err instanceof FtpTransientError, String(err));
      assert.equal(err.ftpCode, 421);
      assert.match(err.message, /421/);
      return true;
    },
  );
  release();
  await holding;
  await greedy.close();
  await until(() => s.sessions() === 0); // the server has seen the logouts

  // A pool sized to the cap queues instead of failing.
  const polite = new FtpPool(endpointOf(s), { maxConnections: MAX_PER_IP });
  after(() => polite.close());
  const results = await Promise.all(Array.from({ length: 6 }, () => polite.withClient((client) => client.pwd())));
  assert.deepEqual(results, Array(6).fill('/'));
});
