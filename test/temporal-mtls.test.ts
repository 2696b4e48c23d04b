// Temporal over mTLS, live: the dev server has no TLS option, so a TLS-terminating proxy that requires client
// certificates (as a Temporal frontend with mTLS does) stands in front of its plain gRPC port, with a CA and
// certificates made for this run. The product's own entry points go through it: `ftp-ingest worker` runs a file
// to DONE and the CLI polls; a missing client certificate, one from another CA or a wrong server name is
// refused with one line naming temporal.tls and the address (exit 2), and no key material.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { spawnWorkerProcess, writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } from '../src/stack/worker-process';
import { waitUntil } from './helpers/fault-run';
import { PASSWORD, PASSWORD_ENV, usePipeline } from './helpers/pipeline';
import { testCa } from './helpers/test-ca';
import { mtlsProxy, type MtlsProxy } from './helpers/tls-proxy';

const bin = path.join(__dirname, '..', 'bin', 'ftp-ingest.js');
const SOURCE = 'mtls';
// The server certificate names only this: connecting to 127.0.0.1 needs temporal.tls.serverName.
const SERVER_NAME = 'temporal.test';

const pipeline = usePipeline({ sources: [{ id: SOURCE }] });

// Made at load time: their temp dirs then belong to the file, not to the test that first needs them.
const ca = testCa('ftp-ingest temporal test CA');
const stranger = testCa('a CA Temporal does not know');
const server = ca.issue('temporal-frontend', [`DNS:${SERVER_NAME}`]);
const client = ca.issue('ingest-worker', ['DNS:ingest-worker'], 'clientAuth');
const foreign = stranger.issue('foreign-worker', ['DNS:ingest-worker'], 'clientAuth');

type Variant = 'good' | 'noClientCert' | 'unknownCa' | 'wrongServerName' | 'nothingListening';

interface Setup {
  proxy: MtlsProxy;
  address: string;
  configs: Record<Variant, string>;
  /** Lines of the key files: none may appear in any output. */
  keyLines: string[];
  bundle: string;
}
let setup: Setup;
let started: Promise<Setup> | undefined;
/** Made by the first test, once the pipeline's servers run; the proxy closes when the file ends. */
const ready = async (): Promise<void> => {
  setup = await (started ??= makeSetup());
};
after(async () => {
  await (await started?.catch(() => undefined))?.proxy.close();
});

async function makeSetup(): Promise<Setup> {
  const [host, port] = pipeline.temporal.address.split(':') as [string, string];
  const proxy = await mtlsProxy(
    { host, port: Number(port) },
    { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.caFile },
  );
  const address = `${proxy.host}:${proxy.port}`;
  const mtls = { ca: ca.caFile, cert: client.certFile, key: client.keyFile, serverName: SERVER_NAME };
  const variants: Record<Variant, Record<string, string>> = {
    good: mtls,
    noClientCert: { ca: ca.caFile, serverName: SERVER_NAME },
    unknownCa: { ...mtls, cert: foreign.certFile, key: foreign.keyFile },
    wrongServerName: { ...mtls, serverName: 'other.test' },
    nothingListening: mtls,
  };
  const base = JSON.parse(fs.readFileSync(pipeline.configFile, 'utf8')) as { temporal: Record<string, unknown> };
  const configs = {} as Record<Variant, string>;
  for (const [name, tls] of Object.entries(variants) as [Variant, Record<string, string>][]) {
    configs[name] = path.join(pipeline.dataDir, `config-${name}.json`);
    const at = name === 'nothingListening' ? '127.0.0.1:1' : address;
    fs.writeFileSync(configs[name], JSON.stringify({ ...base, temporal: { ...base.temporal, address: at, tls } }));
  }
  const keyLines = [client.keyFile, foreign.keyFile, server.keyFile].flatMap((file) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.length > 20 && !line.startsWith('-----')),
  );
  const bundle = await writeWorkflowBundle(path.join(pipeline.dataDir, 'workflow-bundle.js'));
  return { proxy, address, configs, keyLines, bundle };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(variant: Variant, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, '--config', setup.configs[variant], ...args],
      { env: { ...process.env, [PASSWORD_ENV]: PASSWORD } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

/** Output that may be shown to an operator: no line of any private key, no PEM block. */
function assertNoKeyMaterial(text: string, what: string): void {
  assert.doesNotMatch(text, /-----BEGIN/, `${what} shows a PEM block`);
  for (const line of setup.keyLines) assert.ok(!text.includes(line), `${what} shows key material`);
}

/** `ftp-ingest worker` with a variant's config, its output in a log file of its own. */
function spawnWorker(variant: Variant): { log: string; child: ReturnType<typeof spawnWorkerProcess> } {
  const log = path.join(pipeline.dataDir, `worker-${variant}.log`);
  const child = spawnWorkerProcess({
    configFile: setup.configs[variant],
    env: { [PASSWORD_ENV]: PASSWORD, [WORKFLOW_BUNDLE_ENV]: setup.bundle },
    logFile: log,
  });
  return { log, child };
}

describe('Temporal over mTLS, through a proxy that requires client certificates', () => {
  test('CA, client certificate and serverName: a worker runs a file to DONE, the CLI polls and lists', async (t) => {
    await ready();
    const { child, log } = spawnWorker('good');
    t.after(() => child.stop(2_000));
    pipeline.putRemote(SOURCE, 'a.csv', 'id,amount\n1,2\n');

    const poll = await cli('good', 'poll', '-s', SOURCE, '--json', '--wait', '60');
    assert.equal(poll.code, 0, `poll exited ${poll.code}: ${poll.stderr}`);
    assert.equal((JSON.parse(poll.stdout) as { claimed: number }).claimed, 1, poll.stdout);
    const record = await pipeline.waitForStatus(SOURCE, 'a.csv', ['DONE'], 60_000);
    assert.equal(fs.readFileSync(pipeline.processed(SOURCE, 'a.csv'), 'utf8'), 'id,amount\n1,2\n');
    assert.equal(((await pipeline.fileResult(record)) as { outcome: string }).outcome, 'done');

    const schedules = await cli('good', 'schedule', 'list', '--json');
    assert.equal(schedules.code, 0, `schedule list exited ${schedules.code}: ${schedules.stderr}`);
    assert.ok(setup.proxy.authorized >= 3, `connections through the proxy: ${setup.proxy.authorized}`);
    assert.equal(child.process.exitCode, null, `the worker is still running:\n${child.output()}`);
    assertNoKeyMaterial(fs.readFileSync(log, 'utf8') + poll.stdout + poll.stderr, 'the worker log or the CLI');
  });

  const refusals: [Variant, string, RegExp][] = [
    ['noClientCert', 'temporal.tls.cert / temporal.tls.key', /requires a client certificate/],
    ['unknownCa', 'temporal.tls.cert / temporal.tls.key', /refused the client certificate/],
    ['wrongServerName', 'temporal.tls.ca / temporal.tls.serverName', /other\.test/],
  ];
  for (const [variant, settings, reason] of refusals) {
    test(`${variant}: the CLI and a worker are refused with one line naming ${settings} (exit 2)`, async (t) => {
      await ready();
      const refusedBefore = setup.proxy.refused;
      const worker = spawnWorker(variant);
      const [poll, schedules] = await Promise.all([
        cli(variant, 'poll', '-s', SOURCE, '--wait', '10'),
        cli(variant, 'schedule', 'list'),
      ]);
      t.diagnostic(poll.stderr.trim());
      for (const [what, run] of [
        ['poll', poll],
        ['schedule list', schedules],
      ] as const) {
        assert.equal(run.code, 2, `${what} exited ${run.code}, wanted 2: ${run.stderr}`);
        const lines = run.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line:\n${run.stderr}`);
        assert.ok(lines[0]!.includes(`Temporal at ${setup.address}`), lines[0]);
        assert.ok(lines[0]!.includes(`(${settings})`), lines[0]);
        assert.match(lines[0]!, reason);
        assertNoKeyMaterial(run.stdout + run.stderr, what);
      }
      // The worker gives up at start with the same line and exit 2; it never ran anything.
      await waitUntil('the refused worker to exit', () => worker.child.process.exitCode ?? undefined, 60_000);
      assert.equal(worker.child.process.exitCode, 2, worker.child.output());
      const log = fs.readFileSync(worker.log, 'utf8');
      assert.match(log, new RegExp(`ftp-ingest: TLS with Temporal at ${setup.address} failed: .*\\(${settings}\\)`));
      assert.doesNotMatch(log, /^\s+at /m, 'no stack trace');
      assertNoKeyMaterial(log, 'the worker log');
      assert.ok(setup.proxy.refused > refusedBefore, 'the proxy saw the handshakes it refused');
    });
  }

  test('TLS on and nothing listening: unreachable (exit 3), not a TLS error', async () => {
    await ready();
    const run = await cli('nothingListening', 'schedule', 'list');
    assert.equal(run.code, 3, `exit ${run.code}, wanted 3: ${run.stderr}`);
    assert.match(run.stderr, /^ftp-ingest: Temporal at 127\.0\.0\.1:1 \(temporal\.address.*\) is unreachable/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });
});
