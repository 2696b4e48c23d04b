// Config of the Redis topologies (one node, Sentinel, Cluster; TLS; ACL user) and of Temporal TLS/mTLS, and the
// clients built from it (no server needed: the options are checked, not a connection).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig, parseConfig, parseRedisUrl } from '../src/config';
import { redisClientSpec } from '../src/connections/redis';
import { temporalTlsOption } from '../src/connections/temporal';
import { assertIssue, configError } from './helpers/config';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-config-conn-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('redis.url: one node, Sentinel and Cluster forms parse', () => {
  assert.deepEqual(parseRedisUrl('redis://ledger:6380/2'), {
    topology: 'single',
    tls: false,
    nodes: [{ host: 'ledger', port: 6380 }],
    db: 2,
  });
  assert.deepEqual(parseRedisUrl('rediss+sentinel://ingest@s1,s2:26380,[::1]:26381/ledger'), {
    topology: 'sentinel',
    tls: true,
    nodes: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: '::1', port: 26381 },
    ],
    user: 'ingest',
    masterName: 'ledger',
    db: 0,
  });
  assert.deepEqual(parseRedisUrl('redis+cluster://a:7000,b:7001'), {
    topology: 'cluster',
    tls: false,
    nodes: [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ],
    db: 0,
  });
});

test('redis.url: bad forms are refused with the setting named', () => {
  const cases: [string, string][] = [
    ['http://a:1', 'unsupported scheme'],
    ['redis+sentinel://a:26379', 'master name'],
    ['redis+cluster://a:7000/0', 'no path'],
    ['redis://a:1,b:2', 'several hosts'],
    ['redis+cluster://u:secret@a:7000', 'password'],
    ['redis://a:1?db=2', 'query'],
    ['redis://a:99999', 'out of range'],
  ];
  for (const [url, part] of cases)
    assertIssue(
      configError(() => parseConfig({ redis: { url } })),
      'redis.url',
      part,
    );
  const fromEnv = configError(() => parseConfig({}, { FTP_INGEST_REDIS_URL: 'redis+sentinel://a' }));
  assertIssue(fromEnv, 'redis.url', 'master name', 'FTP_INGEST_REDIS_URL');
});

test('redis.tls and redis.user: TLS only with a TLS url, a readable CA, one place for the user', () => {
  const dir = tempDir();
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, 'PEM');
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      redis: { url: 'rediss+cluster://a:7000', user: 'ingest', tls: { ca: 'ca.pem', servername: 'r' } },
    }),
  );
  const config = loadConfig({ file, env: {} });
  assert.deepEqual(config.redis.tls, { ca, servername: 'r', rejectUnauthorized: true }, 'relative to the file');
  assert.equal(config.redis.user, 'ingest');

  assertIssue(
    configError(() => parseConfig({ redis: { tls: {} } })),
    'redis.tls',
    'does not use TLS',
  );
  assertIssue(
    configError(() => parseConfig({ redis: { url: 'rediss://a:1', tls: { ca: path.join(dir, 'missing.pem') } } })),
    'redis.tls.ca',
    'file not found',
  );
  assertIssue(
    configError(() => parseConfig({ redis: { url: 'redis://u@a:1', user: 'v' } })),
    'redis.user',
    'not both',
  );
  assertIssue(
    configError(() => parseConfig({ redis: { url: 'rediss://a:1', tls: { rejectUnauthorised: false } } })),
    'redis.tls.rejectUnauthorised',
    'did you mean "rejectUnauthorized"',
  );
});

test('the Redis client options follow the topology, with ACL user, password from env and TLS', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA PEM');
  const redis = {
    user: 'ingest',
    passwordEnv: 'REDIS_PW',
    tls: { ca: path.join(dir, 'ca.pem'), servername: 'r.example' },
  };
  const env = { REDIS_PW: 'pw-1' };

  const single = redisClientSpec(parseConfig({ redis: { url: 'redis://a:6380/3' } }), {});
  assert.equal(single.kind, 'redis');
  assert.deepEqual([single.options.host, single.options.port, single.options.db], ['a', 6380, 3]);
  assert.equal(single.options.tls, undefined);
  assert.ok(typeof single.options.maxRetriesPerRequest === 'number' && single.options.maxRetriesPerRequest <= 5);

  const sentinel = redisClientSpec(parseConfig({ redis: { ...redis, url: 'rediss+sentinel://s1,s2/ledger' } }), env);
  assert.equal(sentinel.kind, 'redis');
  assert.deepEqual(sentinel.options.sentinels, [
    { host: 's1', port: 26379 },
    { host: 's2', port: 26379 },
  ]);
  assert.equal(sentinel.options.name, 'ledger');
  assert.deepEqual([sentinel.options.username, sentinel.options.password], ['ingest', 'pw-1']);
  assert.equal(String(sentinel.options.tls?.ca), 'CA PEM');
  assert.equal(sentinel.options.tls?.servername, 'r.example');
  assert.equal(sentinel.options.tls?.rejectUnauthorized, true);
  assert.equal(sentinel.options.enableTLSForSentinelMode, true);

  const cluster = redisClientSpec(parseConfig({ redis: { ...redis, url: 'rediss+cluster://c1:7000,c2:7001' } }), env);
  assert.equal(cluster.kind, 'cluster');
  if (cluster.kind !== 'cluster') return;
  assert.deepEqual(cluster.nodes, [
    { host: 'c1', port: 7000 },
    { host: 'c2', port: 7001 },
  ]);
  assert.deepEqual(
    [cluster.options.redisOptions?.username, cluster.options.redisOptions?.password],
    ['ingest', 'pw-1'],
  );
  assert.equal(cluster.options.redisOptions?.tls?.servername, 'r.example');
});

test('temporal.tls: false, true, or CA / client certificate / server name files, checked at start', () => {
  const dir = tempDir();
  for (const name of ['ca.pem', 'client.pem', 'client.key']) fs.writeFileSync(path.join(dir, name), `${name} PEM`);
  assert.equal(parseConfig({}).temporal.tls, false);
  assert.equal(parseConfig({ temporal: { tls: true } }).temporal.tls, true);

  const file = path.join(dir, 'c.json');
  const tls = { ca: 'ca.pem', cert: 'client.pem', key: 'client.key', serverName: 'temporal.internal' };
  fs.writeFileSync(file, JSON.stringify({ temporal: { tls } }));
  const config = loadConfig({ file, env: {} });
  assert.deepEqual(config.temporal.tls, {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'client.pem'),
    key: path.join(dir, 'client.key'),
    serverName: 'temporal.internal',
  });
  const option = temporalTlsOption(config, undefined);
  assert.ok(typeof option === 'object');
  assert.equal(String(option.serverRootCACertificate), 'ca.pem PEM');
  assert.equal(String(option.clientCertPair?.crt), 'client.pem PEM');
  assert.equal(String(option.clientCertPair?.key), 'client.key PEM');
  assert.equal(option.serverNameOverride, 'temporal.internal');
  assert.equal(temporalTlsOption(parseConfig({}), 'api-key'), true, 'an API key turns TLS on');

  const missing = configError(() =>
    parseConfig({ temporal: { tls: { cert: path.join(dir, 'nope.pem'), key: path.join(dir, 'client.key') } } }),
  );
  assertIssue(missing, 'temporal.tls.cert', 'file not found', 'nope.pem');
  assertIssue(
    configError(() => parseConfig({ temporal: { tls: { cert: path.join(dir, 'client.pem') } } })),
    'temporal.tls.key',
    'required with cert',
  );
  assertIssue(
    configError(() => parseConfig({ temporal: { tls: { ca: dir } } })),
    'temporal.tls.ca',
    'not a file',
  );
  assertIssue(
    configError(() => parseConfig({ temporal: { tls: 'yes' } })),
    'temporal.tls',
    'serverName',
  );
  assertIssue(
    configError(() => parseConfig({ temporal: { tls: { servername: 'x' } } })),
    'temporal.tls.servername',
    'serverName',
  );
  if (process.getuid?.() !== 0) {
    const locked = path.join(dir, 'locked.key');
    fs.writeFileSync(locked, 'k', { mode: 0o000 });
    const err = configError(() =>
      parseConfig({ temporal: { tls: { cert: path.join(dir, 'client.pem'), key: locked } } }),
    );
    assertIssue(err, 'temporal.tls.key', 'cannot read');
  }
});
