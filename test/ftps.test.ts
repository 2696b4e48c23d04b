// FTPS against a real pure-ftpd with TLS, a CA made for this run, and certificate checks that refuse.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { FtpEndpoint, FtpTlsOptions } from '../src/ftp/connection-options';
import { downloadToFile } from '../src/ftp/download';
import {
  classifyFtpError,
  FtpPermanentError,
  FtpTlsError,
  FtpTransientError,
  RemoteTrustError,
} from '../src/ftp/errors';
import { listRemote } from '../src/ftp/list';
import { FtpPool } from '../src/ftp/pool';
import { pureFtpdUnavailable, testPureFtpd, type PureFtpdServer } from './helpers/pure-ftpd';
import { tempDir } from './helpers/servers';
import { testCa, type TestCa } from './helpers/test-ca';

// The certificate names only `ftp.test`: connecting to 127.0.0.1 needs `servername`, so a wrong name is easy to make.
const SERVER_NAME = 'ftp.test';

interface Setup {
  ca: TestCa;
  server: PureFtpdServer;
}

// Missing servers fail the tests (no skip): the TLS claims must be proven here.
const started: Promise<Setup> = (async () => {
  const unavailable = pureFtpdUnavailable();
  if (unavailable) throw new Error(`pure-ftpd is needed for the FTPS tests: ${unavailable}`);
  const ca = testCa();
  const cert = ca.issue('ftp-server', [`DNS:${SERVER_NAME}`]);
  // -Y 3: the server refuses plain logins and cleartext data channels, so a working transfer proves PROT P.
  const server = await testPureFtpd({ tls: { level: 3, certFile: cert.bundleFile } });
  return { ca, server };
})();
started.catch(() => undefined);

function endpoint(
  s: PureFtpdServer,
  tls: FtpTlsOptions | undefined,
  secure: FtpEndpoint['secure'] = true,
): FtpEndpoint {
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password,
    secure,
    timeoutMs: 10_000,
    ...(tls ? { tls } : {}),
  };
}

async function refusal(s: PureFtpdServer, tls: FtpTlsOptions | undefined): Promise<unknown> {
  const pool = new FtpPool(endpoint(s, tls), { maxConnections: 1 });
  try {
    await pool.withClient(() => Promise.resolve());
  } catch (err) {
    return err;
  } finally {
    await pool.close();
  }
  assert.fail('the connection was not refused');
}

test('ftps: a certificate from the configured CA works: list, download with PROT P, checksum', async () => {
  const { ca, server } = await started;
  const content = crypto.randomBytes(300_000);
  const when = new Date('2024-02-03T04:05:06.000Z');
  server.put('in/data.bin', content, when);
  server.put('in/sub/b.csv', 'b,c\n', when);
  const pool = new FtpPool(endpoint(server, { ca: ca.caPem, servername: SERVER_NAME, minVersion: 'TLSv1.2' }), {
    maxConnections: 1,
  });
  const dir = tempDir('ftp-ingest-ftps-');
  try {
    await pool.withClient(async (client) => {
      const entries = await listRemote(client, { remoteDir: '/in', recursive: true, maxDepth: 2 });
      assert.deepEqual(entries.map((e) => [e.path, e.size, e.mtimeMs]).sort(), [
        ['data.bin', content.length, when.getTime()],
        ['sub/b.csv', 4, when.getTime()],
      ]);
      // The data channel was TLS (the server refuses cleartext data at -Y 3); the control channel is TLS too.
      assert.equal((client.ftp.socket as { encrypted?: boolean }).encrypted, true);
      const part = path.join(dir, 'data.bin.part');
      fs.writeFileSync(part, content.subarray(0, 100_000)); // and it resumes (REST) over TLS
      const result = await downloadToFile(client, '/in/data.bin', part, { expectedSize: content.length });
      assert.equal(result.resumedFrom, 100_000);
      const digest = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
      assert.equal(digest(fs.readFileSync(part)), digest(content));
    });
  } finally {
    await pool.close();
  }
});

test('ftps: the server refuses plain FTP at -Y 3 (so the good case above really ran over TLS)', async () => {
  const { server } = await started;
  const pool = new FtpPool(endpoint(server, undefined, false), { maxConnections: 1 });
  await assert.rejects(
    pool.withClient(() => Promise.resolve()),
    (err: unknown) => err instanceof FtpPermanentError || err instanceof FtpTransientError,
  );
  await pool.close();
});

test('ftps: an unknown CA is refused with a typed, environment-class error naming host:port', async () => {
  const { server } = await started;
  for (const tls of [{ servername: SERVER_NAME }, { servername: SERVER_NAME, ca: testCa('another CA').caPem }]) {
    const err = await refusal(server, tls);
    assert.ok(err instanceof FtpTlsError, `not an FtpTlsError: ${String(err)}`);
    assert.ok(err instanceof RemoteTrustError);
    // An environment error: retried with backoff by the activities, never a file's try.
    assert.ok(err instanceof FtpTransientError);
    assert.equal(err.endpoint, `127.0.0.1:${server.port}`);
    assert.match(err.code, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    assert.match(err.message, /certificate/i);
    assert.ok(!err.message.includes(server.password));
  }
});

test('ftps: a certificate for another host name is refused, also when connecting by IP', async () => {
  const { ca, server } = await started;
  for (const tls of [{ ca: ca.caPem, servername: 'other.test' }, { ca: ca.caPem }]) {
    const err = await refusal(server, tls);
    assert.ok(err instanceof FtpTlsError, `not an FtpTlsError: ${String(err)}`);
    assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.ok(err instanceof FtpTransientError, 'a trust refusal is the environment: retried, never a try');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
  }
});

test('ftps: rejectUnauthorized false accepts an unverified certificate (explicitly only)', async () => {
  const { server } = await started;
  const pool = new FtpPool(endpoint(server, { rejectUnauthorized: false }), { maxConnections: 1 });
  try {
    await pool.withClient(async (client) => {
      assert.ok(Array.isArray(await client.list('/')));
    });
  } finally {
    await pool.close();
  }
});

test('ftps: TLS failures are classified by code, not by message text', () => {
  const err = Object.assign(new Error('anything at all'), { code: 'CERT_HAS_EXPIRED' });
  const classified = classifyFtpError(err);
  assert.ok(classified instanceof FtpTlsError);
  assert.equal(classified.code, 'CERT_HAS_EXPIRED');
  const plain = Object.assign(new Error('unable to verify the first certificate'), { code: 'EISDIR' });
  assert.equal(classifyFtpError(plain), plain);
});
