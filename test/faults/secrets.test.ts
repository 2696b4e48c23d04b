// Fault scenario "secrets": after a run with successes and failures, every workflow history (payloads decoded),
// every worker log, the config file, the ledger and the dead letters are searched for the FTP passwords: they
// must appear nowhere. Failure paths included: a wrong password (login refused), a server that echoes the
// password in its refusal, and a processor command that fails after printing its environment.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { accountSource, countingProcessor, sha256 } from '../helpers/faults';
import { PASSWORD, PASSWORD_ENV, usePipeline } from '../helpers/pipeline';
import { tempDir } from '../helpers/servers';
import { RemoteClients } from '../../src/remote';
import { pollInputOf } from '../../src/shared/patch-level';
import { pollWorkflow } from '../../src/workflows';

const WRONG_PASSWORD_ENV = 'FTP_INGEST_TEST_WRONG_PASSWORD';
const WRONG_PASSWORD = 'wrong-secret-5b9e21';
const invocationsLog = path.join(tempDir('ftp-ingest-secrets-'), 'invocations.log');

// A server that answers PASS with a refusal quoting the password it was sent (some do, in their logs or replies).
const echoSource: Record<string, unknown> & { id: string } = { id: 'echo', host: '127.0.0.1', port: 0 };
let echoServer: net.Server | undefined;
// Registered before usePipeline's hook, so the port is known when the config is written.
before(async () => {
  const server = (echoServer = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 echo server\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end).replace(/\r$/, '');
        buffered = buffered.slice(end + 1);
        const [verb = '', ...rest] = line.split(' ');
        if (/^USER$/i.test(verb)) socket.write('331 password please\r\n');
        else if (/^PASS$/i.test(verb)) socket.write(`530 login incorrect, password was ${rest.join(' ')}\r\n`);
        else if (/^QUIT$/i.test(verb)) socket.end('221 bye\r\n');
        else socket.write('530 log in first\r\n');
      }
    });
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  echoSource.port = (server.address() as net.AddressInfo).port;
});
after(() => new Promise((resolve) => (echoServer ? echoServer.close(resolve) : resolve(undefined))));

const pipeline = usePipeline({
  sources: [
    { id: 'good', processor: countingProcessor(invocationsLog) },
    { id: 'wrongpw', passwordEnv: WRONG_PASSWORD_ENV },
    echoSource,
    // Prints its environment (where the worker's FTP password variable is) and fails: its stderr tail goes
    // into the error that is recorded in history and the ledger.
    {
      id: 'leaky',
      maxTries: 2,
      processor: { name: 'command', options: { command: ['sh', '-c', 'env >&2; exit 3'] } },
    },
  ],
});

/** Every place a secret could end up: histories (raw and with payloads decoded), logs, config, ledger. */
async function everythingWritten(): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for await (const execution of pipeline.client.workflow.list()) {
    const history = await pipeline.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const raw = JSON.stringify(history, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
    );
    // Payload data (JSON) and failure texts, base64-decoded, so that nothing hides in an encoding.
    const decoded = [...raw.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)]
      .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
      .join('\n');
    texts.set(`history ${execution.workflowId}`, `${raw}\n${decoded}`);
  }
  for (const entry of fs.readdirSync(pipeline.dataDir)) {
    if (entry.endsWith('.log')) texts.set(`log ${entry}`, fs.readFileSync(path.join(pipeline.dataDir, entry), 'utf8'));
  }
  texts.set('config file', fs.readFileSync(pipeline.configFile, 'utf8'));
  for (const sourceId of ['good', 'wrongpw', 'echo', 'leaky']) {
    const { records } = await pipeline.ledger.list(sourceId, { count: 1000 });
    texts.set(`ledger ${sourceId}`, JSON.stringify(records));
    texts.set(`dead letters ${sourceId}`, JSON.stringify(await pipeline.ledger.deadLetters(sourceId)));
  }
  return texts;
}

test('secrets: no FTP password in histories, logs, config, ledger or dead letters', async (t) => {
  process.env[WRONG_PASSWORD_ENV] = WRONG_PASSWORD; // inherited by the worker processes only
  t.after(() => delete process.env[WRONG_PASSWORD_ENV]);
  const expected = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    const content = `row ${i}\n`.repeat(100 + i);
    pipeline.putRemote('good', `good-${i}.csv`, content);
    expected.set(`good-${i}.csv`, sha256(content));
  }
  pipeline.putRemote('leaky', 'leaky.csv', 'x\n');
  await pipeline.spawnWorker('secrets-worker-1');
  await pipeline.spawnWorker('secrets-worker-2');

  // Polls of the failing sources fail at once (a refused login is the environment, not a file): read the
  // failure they end with. Their histories are searched below with the rest.
  const failures: string[] = [];
  for (const sourceId of ['wrongpw', 'echo']) {
    const handle = await pipeline.client.workflow.start(pollWorkflow, {
      taskQueue: pipeline.config.temporal.taskQueue,
      workflowId: `secrets-poll/${sourceId}`,
      args: [pollInputOf(sourceId)],
    });
    const failure = await handle.result().then(
      () => assert.fail(`the poll of ${sourceId} should fail`),
      (err: unknown) => failureChain(err),
    );
    failures.push(failure);
  }
  t.diagnostic(`listing failures: ${failures.join(' | ')}`);
  assert.match(failures.join('\n'), /530/, 'the refusal is visible (without the password)');

  const deadline = Date.now() + 45_000;
  for (;;) {
    await pipeline.poll('good');
    await pipeline.poll('leaky');
    const leaky = await pipeline.ledger.get('leaky', 'leaky.csv');
    if ((await pipeline.ledger.counts('good')).DONE === expected.size && leaky?.status === 'REJECTED') break;
    assert.ok(Date.now() < deadline, 'good files DONE and the leaky file REJECTED in time');
    await sleep(1_000);
  }
  const leaky = await pipeline.ledger.get('leaky', 'leaky.csv');
  assert.match(leaky?.error ?? '', /exited with 3/, 'the failing command is recorded');
  await accountSource(pipeline, {
    scenario: 'secrets',
    sourceId: 'good',
    expected,
    invocationsLog,
  });

  const texts = await everythingWritten();
  failures.forEach((failure, i) => texts.set(`pending listing failure ${i}`, failure));
  const histories = [...texts.keys()].filter((k) => k.startsWith('history')).length;
  const logs = [...texts.keys()].filter((k) => k.startsWith('log')).length;
  const bytes = [...texts.values()].reduce((n, text) => n + text.length, 0);
  t.diagnostic(`searched ${histories} histories, ${logs} worker logs, config, ledger, dead letters: ${bytes} chars`);
  assert.ok(histories >= expected.size + 4, `histories: ${histories}`);
  assert.equal(logs, 2);
  const leaks = [...texts].flatMap(([where, text]) =>
    [PASSWORD, WRONG_PASSWORD].filter((secret) => text.includes(secret)).map((secret) => `${where}: ${secret}`),
  );
  assert.deepEqual(leaks, [], 'no password anywhere');
  assert.ok(
    [...texts.values()].some((text) => text.includes(PASSWORD_ENV)),
    'sanity: the search does see the environment variable names (the env dump reached history)',
  );
});

// The product bug this scenario found: pools were keyed by server and user only, so the wrong-password source and
// the good sources shared logged-in clients (whichever connected first decided for all of them). RemoteClients keys
// by digests of every credential and trust setting, for FTP and SFTP alike, and labels pools without them.
test('RemoteClients: same server and user with different credentials get separate pools', async () => {
  const clients = new RemoteClients();
  const options = { maxConnections: 1 };
  const ftp = { protocol: 'ftp', host: '127.0.0.1', port: 21, user: 'u', secure: false } as const;
  const good = clients.get({ ...ftp, password: PASSWORD }, options);
  assert.equal(clients.get({ ...ftp, password: PASSWORD }, options), good);
  assert.notEqual(clients.get({ ...ftp, password: WRONG_PASSWORD }, options), good);
  assert.notEqual(clients.get({ ...ftp, password: PASSWORD, secure: true }, options), good);
  const sftp = {
    protocol: 'sftp',
    host: '127.0.0.1',
    port: 22,
    user: 'u',
    hostKeys: { fingerprint: 'SHA256:x' },
  } as const;
  const key = clients.get({ ...sftp, privateKey: 'key-a', passphrase: PASSWORD }, options);
  assert.equal(clients.get({ ...sftp, privateKey: 'key-a', passphrase: PASSWORD }, options), key);
  assert.notEqual(clients.get({ ...sftp, privateKey: 'key-a', passphrase: WRONG_PASSWORD }, options), key);
  assert.notEqual(clients.get({ ...sftp, privateKey: 'key-b', passphrase: PASSWORD }, options), key);
  assert.notEqual(
    clients.get({ ...sftp, password: PASSWORD }, options),
    clients.get({ ...sftp, password: WRONG_PASSWORD }, options),
  );
  const labels = JSON.stringify(clients.snapshot());
  assert.ok(!labels.includes(PASSWORD) && !labels.includes(WRONG_PASSWORD) && !labels.includes('key-a'), labels);
  await clients.closeAll();
});

/** The messages of an error and its causes (a Temporal failure's own fields are not enumerable). */
function failureChain(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
  return messages.join(' <- ');
}
