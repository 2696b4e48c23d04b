import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { inspect } from 'node:util';
import {
  checkSecrets,
  DEMO_PASSWORD_ENV,
  formatDuration,
  getSource,
  loadConfig,
  parseConfig,
  parseDuration,
  processorNames,
  redisPassword,
  resolveSecret,
  sourcePassword,
  type AppConfig,
} from '../src/config';
import { assertIssue, configError } from './helpers/config';

const repoRoot = path.resolve(__dirname, '..');

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-config-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const oneSource = (extra: Record<string, unknown>) => ({ sources: [{ id: 'orders', ...extra }] });

test('without a file the defaults are the embedded demo', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.clusterId, 'local');
  assert.deepEqual(config.temporal, {
    address: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 'ftp-ingest',
    tls: false,
  });
  assert.deepEqual(config.redis, {
    url: 'redis://127.0.0.1:6379',
    keyPrefix: 'ftpi',
    waitForReplicas: 0,
    replicaTimeoutMs: 2_000,
  });
  assert.equal(config.workDir, path.resolve('.data/work'));
  assert.equal(config.processedDir, path.resolve('.data/processed'));
  assert.equal(config.sharedWorkDir, true);
  assert.deepEqual(config.worker, {
    maxConcurrentActivities: 20,
    maxConcurrentWorkflowTasks: 40,
    maxCachedWorkflows: 250,
    shutdownGraceMs: 30_000,
    metricsPort: 9464,
    metricsHost: '127.0.0.1',
  });
  assert.equal(config.sources.length, 1);
  const demo = getSource(config, 'demo');
  assert.deepEqual(
    { host: demo.host, port: demo.port, user: demo.user, passwordEnv: demo.passwordEnv, processor: demo.processor },
    {
      host: '127.0.0.1',
      port: 2121,
      user: 'ingest',
      passwordEnv: DEMO_PASSWORD_ENV,
      processor: { name: 'delay', options: {} },
    },
  );
});

test('a source gets a default for every setting', () => {
  const source = getSource(parseConfig(oneSource({})), 'orders');
  assert.deepEqual(source, {
    id: 'orders',
    host: '127.0.0.1',
    port: 21,
    user: 'anonymous',
    secure: false,
    remoteDir: '/',
    recursive: false,
    maxDepth: 5,
    include: ['**'],
    exclude: [],
    pattern: null,
    includeHidden: false,
    minFileAgeMs: 0,
    requireStableSize: true,
    stableTimeMs: 30_000,
    readyMarker: null,
    order: 'none',
    versionPolicy: 'reprocess',
    pollIntervalMs: 30_000,
    maxAcceptPerPoll: 100,
    maxInFlight: 200,
    retryTimeoutMs: 60_000,
    maxTries: 3,
    processTimeoutMs: 3_600_000,
    maxCrashes: 8,
    smallFileMaxBytes: 0,
    vanishAfterMs: 600_000,
    forgetAfterMs: 604_800_000,
    maxConnections: 4,
    heartbeatTimeoutMs: 20_000,
    activityMaxIntervalMs: 10_000,
    processor: { name: 'checksum', options: {} },
    remoteAction: { type: 'none' },
    timeZone: 'UTC',
  });
  assert.equal(sourcePassword(source, {}), '', 'no password reference: anonymous');
});

test('the config is frozen', () => {
  const config = loadConfig({ env: {} });
  assert.throws(() => {
    (config as { clusterId: string }).clusterId = 'x';
  }, TypeError);
  assert.ok(Object.isFrozen(config.sources[0]));
});

test('durations: strings with units or milliseconds', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration(1234), 1234);
  for (const bad of ['', '60', '5 minutes', 's', '-1s', '1x']) assert.throws(() => parseDuration(bad), RangeError, bad);
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) assert.throws(() => parseDuration(bad), RangeError, String(bad));
  assert.equal(formatDuration(35_000), '35s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(250), '250ms');
});

test('a YAML file: values, durations in ms, paths relative to the file, shorthands, x- keys', () => {
  const dir = tempDir();
  const file = writeFile(
    dir,
    'ingest.yml',
    [
      'clusterId: eu-1',
      'workDir: work',
      'x-common: &common { host: ftp.example.com, secure: implicit }',
      'sources:',
      '  - <<: *common',
      '    id: orders',
      '    passwordFile: secrets/ftp',
      '    remoteDir: /out//orders/',
      '    retryTimeout: 2m',
      '    minFileAge: 1500',
      '    processor: delay',
      '    remoteAction: delete',
      '',
    ].join('\n'),
  );
  const config = loadConfig({ file, env: {} });
  assert.equal(config.clusterId, 'eu-1');
  assert.equal(config.workDir, path.join(dir, 'work'));
  assert.equal(config.processedDir, path.join(dir, '.data/processed'));
  const orders = getSource(config, 'orders');
  assert.equal(orders.host, 'ftp.example.com');
  assert.equal(orders.secure, 'implicit');
  assert.equal(orders.port, 990, 'implicit FTPS defaults to port 990');
  assert.equal(orders.passwordFile, path.join(dir, 'secrets/ftp'));
  assert.equal(orders.remoteDir, '/out/orders');
  assert.equal(orders.retryTimeoutMs, 120_000);
  assert.equal(orders.minFileAgeMs, 1_500);
  assert.deepEqual(orders.processor, { name: 'delay', options: {} });
  assert.deepEqual(orders.remoteAction, { type: 'delete' });
});

test('a JSON file, named by FTP_INGEST_CONFIG, with sources as a map keyed by id', () => {
  const dir = tempDir();
  const file = writeFile(
    dir,
    'ingest.json',
    JSON.stringify({
      sources: {
        orders: { host: 'a.example', pollInterval: '10s' },
        invoices: { host: 'b.example', remoteAction: { type: 'rename-to-dir', dir: '/archive' } },
      },
    }),
  );
  const config = loadConfig({ env: { FTP_INGEST_CONFIG: file } });
  assert.deepEqual(
    config.sources.map((s) => s.id),
    ['orders', 'invoices'],
  );
  assert.equal(getSource(config, 'orders').pollIntervalMs, 10_000);
  assert.deepEqual(getSource(config, 'invoices').remoteAction, { type: 'rename-to-dir', dir: '/archive' });
});

test('the example config loads: two sources', () => {
  const config = loadConfig({ file: path.join(repoRoot, 'examples/ftp-ingest.yaml'), env: {} });
  assert.deepEqual(
    config.sources.map((s) => s.id),
    ['orders', 'invoices'],
  );
  assert.equal(getSource(config, 'orders').host, 'ftp.partner.example', 'merged from the x- anchor');
  assert.equal(getSource(config, 'orders').retryTimeoutMs, 120_000);
  assert.equal(getSource(config, 'invoices').pattern, '^INV-\\d{8}\\.pdf$');
});

test('environment overrides beat the file; programmatic overrides beat both', () => {
  const dir = tempDir();
  const file = writeFile(dir, 'c.yaml', 'clusterId: from-file\nredis: { url: "redis://file:6379" }\n');
  const env = {
    FTP_INGEST_CLUSTER_ID: 'from-env',
    FTP_INGEST_TEMPORAL_ADDRESS: 'temporal.example:7233',
    FTP_INGEST_TEMPORAL_NAMESPACE: 'ns',
    FTP_INGEST_TEMPORAL_TASK_QUEUE: 'tq',
    FTP_INGEST_REDIS_URL: 'redis://env:6379',
    FTP_INGEST_WORK_DIR: 'rel-work',
    FTP_INGEST_PROCESSED_DIR: '/abs/processed',
  };
  const config = loadConfig({ file, env });
  assert.equal(config.clusterId, 'from-env');
  assert.deepEqual(config.temporal, { address: 'temporal.example:7233', namespace: 'ns', taskQueue: 'tq', tls: false });
  assert.equal(config.redis.url, 'redis://env:6379');
  assert.equal(config.workDir, path.resolve('rel-work'), 'relative env paths resolve against the working directory');
  assert.equal(config.processedDir, path.resolve('/abs/processed'));

  const overridden = loadConfig({ file, env, overrides: { clusterId: 'from-code', temporal: { namespace: 'ns2' } } });
  assert.equal(overridden.clusterId, 'from-code');
  assert.equal(overridden.temporal.namespace, 'ns2');
  assert.equal(overridden.temporal.address, 'temporal.example:7233');

  assert.equal(parseConfig({}).clusterId, 'local', 'parseConfig reads no environment unless given one');
  assert.equal(loadConfig({ env: { FTP_INGEST_CLUSTER_ID: '' } }).clusterId, 'local', 'empty counts as unset');
});

test('a bad value from the environment names the variable', () => {
  const err = configError(() => parseConfig({}, { FTP_INGEST_CLUSTER_ID: 'no spaces please' }));
  assertIssue(err, 'clusterId', '"no spaces please"', 'FTP_INGEST_CLUSTER_ID', 'A-Z');
  // The logger's own variable too: a level it cannot use is refused, not silently taken as `info`.
  const level = configError(() => parseConfig({}, { FTP_INGEST_LOG_LEVEL: 'verbose' }));
  assertIssue(level, 'FTP_INGEST_LOG_LEVEL', '"verbose"', 'trace', 'silent');
  assert.equal(parseConfig({}, { FTP_INGEST_LOG_LEVEL: 'WARN' }).clusterId, parseConfig({}).clusterId);
});

test("the command processor's options are checked at start, not by rejecting every file", () => {
  const missing = configError(() => parseConfig(oneSource({ processor: 'command' })));
  assertIssue(missing, 'sources[0].processor.options.command', 'needs its command', '{file}');
  const text = configError(() =>
    parseConfig(oneSource({ processor: { name: 'command', options: { command: 'false {file}' } } })),
  );
  assertIssue(text, 'sources[0].processor.options.command', 'a list');
  const codes = { command: ['false'], permanentExitCodes: '1' };
  const badCodes = configError(() => parseConfig(oneSource({ processor: { name: 'command', options: codes } })));
  assertIssue(badCodes, 'sources[0].processor.options.permanentExitCodes', 'integers');
  const good = parseConfig(oneSource({ processor: { name: 'command', options: { command: ['wc', '-c', '{file}'] } } }));
  assert.deepEqual(good.sources[0]!.processor.options, { command: ['wc', '-c', '{file}'] });
});

test('bad duration: names the setting, the value and the accepted forms', () => {
  const err = configError(() => parseConfig(oneSource({ retryTimeout: '6o s', pollInterval: '30' })));
  assertIssue(err, 'sources[0].retryTimeout', 'not a duration', '"6o s"', '"90s"');
  assertIssue(err, 'sources[0].pollInterval', 'without a unit', '"30"');
  const short = configError(() => parseConfig(oneSource({ pollInterval: 500 })));
  assertIssue(short, 'sources[0].pollInterval', 'given 500', 'at least 1000ms');
});

test('out-of-range numbers: names the setting, the value and the range', () => {
  const err = configError(() =>
    parseConfig(oneSource({ maxTries: 0, maxAcceptPerPoll: 5000, maxDepth: 1.5, maxConnections: '4', port: 70000 })),
  );
  assertIssue(err, 'sources[0].maxTries', 'out of range', 'given 0', '>= 1');
  assertIssue(err, 'sources[0].maxAcceptPerPoll', 'given 5000', 'from 1 to 1000');
  assertIssue(err, 'sources[0].maxDepth', 'not an integer', 'given 1.5', 'from 1 to 32');
  assertIssue(err, 'sources[0].maxConnections', 'wrong type', 'given "4"', 'a number');
  assertIssue(err, 'sources[0].port', 'given 70000', 'from 1 to 65535');
  assert.equal(err.issues.length, 5, 'every problem is reported at once');
});

test('map form: paths name the source by id', () => {
  const err = configError(() => parseConfig({ sources: { orders: { maxTries: -1 } } }));
  assertIssue(err, 'sources.orders.maxTries', 'given -1');
});

test('unknown keys are refused, with a suggestion for typos', () => {
  const err = configError(() =>
    parseConfig({ temporal: { adress: 'x:1' }, colour: 'blue', sources: [{ id: 'a', retryTimout: '90s' }] }),
  );
  assertIssue(err, 'temporal.adress', 'unknown setting', 'did you mean "address"');
  assertIssue(err, 'sources[0].retryTimout', 'unknown setting', 'did you mean "retryTimeout"');
  assertIssue(err, 'colour', 'unknown setting', 'clusterId');
});

test('enumerations and shapes: allowed values are listed', () => {
  const err = configError(() =>
    parseConfig(
      oneSource({
        secure: 'yes',
        order: 'size',
        remoteAction: { type: 'move' },
        timeZone: 'Mars/Base',
        remoteDir: 'x',
      }),
    ),
  );
  assertIssue(err, 'sources[0].secure', 'given "yes"', 'false | true | "implicit"');
  assertIssue(err, 'sources[0].order', 'given "size"', '"none" | "name" | "mtime"');
  assertIssue(err, 'sources[0].remoteAction.type', 'given "move"', '"rename-to-dir"');
  assertIssue(err, 'sources[0].timeZone', 'given "Mars/Base"', 'IANA');
  assertIssue(err, 'sources[0].remoteDir', 'given "x"', 'starting with "/"');
  const wrongShape = configError(() => parseConfig({ sources: 'orders' }));
  assertIssue(wrongShape, 'sources', 'given "orders"', 'map from source id');
});

test('rename-to-dir requires dir', () => {
  const err = configError(() => parseConfig(oneSource({ remoteAction: { type: 'rename-to-dir' } })));
  assertIssue(err, 'sources[0].remoteAction.dir', 'required');
});

test('a bad regular expression names the setting', () => {
  const err = configError(() => parseConfig(oneSource({ pattern: '(abc' })));
  assertIssue(err, 'sources[0].pattern', 'Unterminated group', 'given "(abc"', 'regular expression');
});

test('a pattern is checked with the flags the filters use: what passes here never throws at a poll', () => {
  const err = configError(() => parseConfig(oneSource({ pattern: 'INV\\_\\d+' })));
  assertIssue(err, 'sources[0].pattern', 'Invalid escape', 'regular expression');
  assert.equal(getSource(parseConfig(oneSource({ pattern: 'INV_\\d+' })), 'orders').pattern, 'INV_\\d+');
});

test('bounds of what could wait or run forever: processTimeout, maxCrashes, vanishAfter, stableTime', () => {
  const source = getSource(
    parseConfig(oneSource({ processTimeout: '5m', maxCrashes: 2, vanishAfter: '2m', stableTime: '10s' })),
    'orders',
  );
  assert.deepEqual(
    [source.processTimeoutMs, source.maxCrashes, source.vanishAfterMs, source.stableTimeMs],
    [300_000, 2, 120_000, 10_000],
  );
  const err = configError(() =>
    parseConfig(oneSource({ vanishAfter: '30s', pollInterval: '20s', retryTimeout: '60s' })),
  );
  assertIssue(err, 'sources[0].vanishAfter', 'two poll intervals');
  assertIssue(
    configError(() => parseConfig(oneSource({ maxCrashes: 0 }))),
    'sources[0].maxCrashes',
    'out of range',
  );
});

test('smallFileMaxBytes: off by default, a byte count up to 16 MiB, named in its error', () => {
  assert.equal(getSource(parseConfig(oneSource({})), 'orders').smallFileMaxBytes, 0);
  assert.equal(getSource(parseConfig(oneSource({ smallFileMaxBytes: 65_536 })), 'orders').smallFileMaxBytes, 65_536);
  assertIssue(
    configError(() => parseConfig(oneSource({ smallFileMaxBytes: 32 * 1024 * 1024 }))),
    'sources[0].smallFileMaxBytes',
    'out of range',
    'from 0 to 16777216',
  );
  assertIssue(
    configError(() => parseConfig(oneSource({ smallFileMaxBytes: 1.5 }))),
    'sources[0].smallFileMaxBytes',
    'not an integer',
  );
});

test('lease rule: retryTimeout must exceed heartbeatTimeout + activityMaxInterval + 5s', () => {
  const err = configError(() =>
    parseConfig(oneSource({ retryTimeout: '30s', heartbeatTimeout: '20s', activityMaxInterval: '10s' })),
  );
  assertIssue(
    err,
    'sources[0].retryTimeout',
    '(30s)',
    'heartbeatTimeout (20s)',
    'activityMaxInterval (10s)',
    '5s margin',
    '35s',
  );
  assert.doesNotThrow(() => parseConfig(oneSource({ retryTimeout: '36s' })));
  // Reported together with field errors elsewhere, not after them.
  const both = configError(() => parseConfig(oneSource({ retryTimeout: '30s', pollInterval: '10s', maxTries: 0 })));
  assert.equal(both.issues.length, 2);
});

test('poll lease rule: retryTimeout must exceed pollInterval + 5s (each poll renews the leases in flight)', () => {
  const err = configError(() =>
    parseConfig(
      oneSource({ retryTimeout: '40s', heartbeatTimeout: '5s', activityMaxInterval: '5s', pollInterval: '1m' }),
    ),
  );
  assertIssue(err, 'sources[0].retryTimeout', '(40s)', 'pollInterval (1m)', '1m5s');
  assert.equal(err.issues.length, 1);
  assert.doesNotThrow(() => parseConfig(oneSource({ retryTimeout: '66s', pollInterval: '1m' })));
});

test('duplicate source ids are refused (also when they differ only in case)', () => {
  const err = configError(() => parseConfig({ sources: [{ id: 'orders' }, { id: 'invoices' }, { id: 'Orders' }] }));
  assertIssue(err, 'sources[2].id', 'duplicate', 'given "Orders"', 'sources[0].id');
  const missing = configError(() => parseConfig({ sources: [{ host: 'x' }] }));
  assertIssue(missing, 'sources[0].id', 'required');
  const dots = configError(() => parseConfig({ sources: [{ id: '..' }] }));
  assertIssue(dots, 'sources[0].id', 'given ".."');
});

test('processor names are checked against the registered list', () => {
  assert.deepEqual([...processorNames], ['checksum', 'delay', 'command']);
  const err = configError(() => parseConfig(oneSource({ processor: { name: 'cheksum' } })));
  assertIssue(err, 'sources[0].processor.name', 'unknown processor', 'given "cheksum"', 'checksum, delay, command');
  const custom = parseConfig(oneSource({ processor: 'mine' }), {}, { processors: [...processorNames, 'mine'] });
  assert.equal(custom.sources[0]?.processor.name, 'mine');
});

test('a literal password is refused without echoing it', () => {
  const secret = 'hunter2-literal';
  const err = configError(() =>
    parseConfig({
      redis: { password: secret },
      temporal: { apiKey: secret },
      sources: [{ id: 'a', password: secret }],
    }),
  );
  assertIssue(err, 'sources[0].password', 'passwordEnv', 'passwordFile');
  assertIssue(err, 'redis.password', 'passwordEnv');
  assertIssue(err, 'temporal.apiKey', 'apiKeyEnv');
  assert.ok(!err.message.includes(secret) && !JSON.stringify(err.issues).includes(secret));
});

test('a password inside the Redis URL is refused without echoing it', () => {
  const secret = 'hunter2-url';
  const fromFile = configError(() => parseConfig({ redis: { url: `redis://user:${secret}@ledger:6379` } }));
  assertIssue(fromFile, 'redis.url', 'password', 'passwordEnv', 'redis://user:***@ledger:6379');
  const fromEnv = configError(() => parseConfig({}, { FTP_INGEST_REDIS_URL: `rediss://:${secret}@ledger:6380` }));
  assertIssue(fromEnv, 'redis.url', 'password', 'FTP_INGEST_REDIS_URL');
  const inQuery = configError(() => parseConfig({ redis: { url: `redis://ledger:6379/?password=${secret}` } }));
  assertIssue(inQuery, 'redis.url', 'query parameters', 'redis://ledger:6379/?password=***');
  for (const err of [fromFile, fromEnv, inQuery]) assert.ok(!err.message.includes(secret), err.message);
});

test('a secret-reference setting never echoes its value (it may be the secret by mistake)', () => {
  const err = configError(() => parseConfig(oneSource({ passwordEnv: 'p@ss w0rd' })));
  assertIssue(err, 'sources[0].passwordEnv', 'environment variable name');
  assert.ok(!err.message.includes('p@ss w0rd'));
  const sftp = configError(() =>
    parseConfig(oneSource({ protocol: 'sftp', privateKeyEnv: 'key x', passphraseEnv: 'pass y' })),
  );
  assertIssue(sftp, 'sources[0].privateKeyEnv', 'environment variable name');
  assertIssue(sftp, 'sources[0].passphraseEnv', 'environment variable name');
  assert.ok(!sftp.message.includes('key x') && !sftp.message.includes('pass y'), sftp.message);
  const both = configError(() => parseConfig(oneSource({ passwordEnv: 'A', passwordFile: '/b' })));
  assertIssue(both, 'sources[0].passwordFile', 'not both');
});

test('secrets come from the environment or a file at use time, and never appear in the config', () => {
  const dir = tempDir();
  const envSecret = 'env-secret-value';
  const fileSecret = 'file-secret-value';
  writeFile(dir, 'ftp-password', `${fileSecret}\n`);
  const file = writeFile(
    dir,
    'c.yaml',
    [
      'redis: { passwordEnv: REDIS_PW }',
      'sources:',
      '  - { id: a, passwordEnv: A_PW }',
      '  - { id: b, passwordFile: ftp-password }',
      '  - { id: c, passwordFile: missing }',
      '',
    ].join('\n'),
  );
  const env = { A_PW: envSecret, REDIS_PW: envSecret };
  const config: AppConfig = loadConfig({ file, env });
  assert.equal(sourcePassword(getSource(config, 'a'), env), envSecret);
  assert.equal(sourcePassword(getSource(config, 'b'), env), fileSecret, 'trailing newline dropped');
  assert.equal(redisPassword(config.redis, env), envSecret);
  assert.equal(resolveSecret({ env: 'A_PW' }, env), envSecret);

  const serialized = JSON.stringify(config) + inspect(config, { depth: null });
  assert.ok(!serialized.includes(envSecret) && !serialized.includes(fileSecret));

  assert.throws(
    () => sourcePassword(getSource(config, 'a'), {}),
    /environment variable A_PW \(sources\.a\.passwordEnv\)/,
  );
  assert.throws(() => sourcePassword(getSource(config, 'c'), env), /cannot read secret file .*missing.*ENOENT/);

  const err = configError(() => checkSecrets(config, { A_PW: envSecret }));
  assert.deepEqual(
    err.issues.map((i) => i.path),
    ['redis', 'sources.c'],
  );
  assert.ok(!err.message.includes(envSecret) && !err.message.includes(fileSecret));
});

test('file problems: unreadable, unsupported, malformed (reported without quoting the file)', () => {
  const dir = tempDir();
  assertIssue(
    configError(() => loadConfig({ file: path.join(dir, 'none.yaml'), env: {} })),
    '(file)',
    'ENOENT',
  );
  assertIssue(
    configError(() => loadConfig({ file: writeFile(dir, 'c.toml', ''), env: {} })),
    '(file)',
    '.yaml',
  );
  const yaml = writeFile(dir, 'bad.yaml', 'sources:\n  - id: a\n    passwordEnv: X\n    passwordEnv: hunter2-dup\n');
  const yamlErr = configError(() => loadConfig({ file: yaml, env: {} }));
  assertIssue(yamlErr, '(file)', 'not valid YAML', 'line 4');
  assert.ok(!yamlErr.message.includes('hunter2-dup'));
  const json = writeFile(dir, 'bad.json', '{"sources": [ {"id": "a", } ]}');
  assertIssue(
    configError(() => loadConfig({ file: json, env: {} })),
    '(file)',
    'not valid JSON',
    'line 1',
  );
  const empties: [string, string][] = [
    ['empty.yaml', ''],
    ['comments.yml', '# nothing yet\n'],
    ['empty.json', '  \n'],
  ];
  for (const [name, text] of empties) {
    assertIssue(
      configError(() => loadConfig({ file: writeFile(dir, name, text), env: {} })),
      '(file)',
      'the file is empty',
    );
  }
});

test('local directories: processedDir apart from workDir', () => {
  const err = configError(() => parseConfig({ workDir: '/data', processedDir: '/data/processed' }));
  assertIssue(err, 'processedDir', 'workDir (/data)', 'given "/data/processed"');
});

test('getSource lists the known ids', () => {
  const config = parseConfig({ sources: [{ id: 'orders' }, { id: 'invoices' }] });
  assert.throws(() => getSource(config, 'order'), /unknown source "order"; configured sources: orders, invoices/);
});

test('the worker endpoints take their port and host from the environment; a bad port names the variable', () => {
  const config = parseConfig({}, { FTP_INGEST_METRICS_PORT: '9100', FTP_INGEST_METRICS_HOST: '0.0.0.0' });
  assert.equal(config.worker.metricsPort, 9100);
  assert.equal(config.worker.metricsHost, '0.0.0.0');
  assert.equal(parseConfig({ worker: { metricsPort: 0 } }).worker.metricsPort, 0);
  const err = configError(() => parseConfig({}, { FTP_INGEST_METRICS_PORT: 'ninety' }));
  assertIssue(err, 'worker.metricsPort', 'FTP_INGEST_METRICS_PORT');
});
