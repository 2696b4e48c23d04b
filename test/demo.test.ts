// `ftp-ingest demo` and `ftp-ingest stack` as a new user runs them: the CLI as a child process on its embedded
// stack (Temporal dev server, Redis, FTP server, worker processes): exit codes, the summary line, what they refuse.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../src/stack/ports';
import { tempDir } from './helpers/servers';

const bin = path.join(__dirname, '..', 'bin', 'ftp-ingest.js');

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliRun {
  readonly output: { stdout: string; stderr: string };
  readonly ended: Promise<Ended>;
  /** Resolves with the first match of `pattern` in stderr; rejects if the command ends first. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
}

/**
 * Starts the CLI in its own process group, killed whole (servers and workers included) when the test ends, so
 * a failing test leaves nothing running.
 */
function startCli(t: TestContext, args: string[], cwd?: string): CliRun {
  const child = spawn(process.execPath, [bin, ...args], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  let running = true;
  const ended = new Promise<Ended>((resolve) =>
    child.once('close', (code) => {
      running = false;
      resolve({ code, ...output });
    }),
  );
  t.after(() => {
    if (running && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  });
  const waitForStderr = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (;;) {
      const match = pattern.exec(output.stderr);
      if (match) return match;
      if (!running) throw new Error(`ended without ${String(pattern)} in stderr:\n${output.stderr}`);
      await sleep(100);
    }
  };
  return { output, ended, waitForStderr };
}

async function runCli(t: TestContext, args: string[], cwd?: string): Promise<Ended> {
  return startCli(t, args, cwd).ended;
}

/** The last line of stdout as the demo's JSON summary. */
function summaryOf(run: Ended): Record<string, number> {
  const lines = run.stdout.trim().split('\n');
  assert.ok(lines.at(-1), `no summary line on stdout; stderr:\n${run.stderr}`);
  return JSON.parse(lines.at(-1)!) as Record<string, number>;
}

function assertExit(run: Ended, code: number): void {
  assert.equal(run.code, code, `exit ${run.code}, wanted ${code}:\n${run.stderr}`);
}

/** Holds `port` on loopback until the test ends (if another process holds it already, that does as well). */
/**
 * Holds `port` for the rest of the test; false when another process kept it for 5 s (a worker of a test file that
 * runs beside this one may use the same default port, and let it go at any time).
 */
async function holdPort(t: TestContext, port: number): Promise<boolean> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(200)) {
    const server = net.createServer();
    const held = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!held) continue;
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return true;
  }
  return false;
}

/** The pid of the worker process that runs with this config file. */
function workerPid(configFile: string): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(configFile) && argv.includes('worker')) return Number(entry);
    } catch {
      // ended meanwhile
    }
  }
  throw new Error(`no worker process with ${configFile}`);
}

test('bad flags of demo and stack are usage errors (exit 2) before anything starts', { timeout: 30_000 }, async (t) => {
  const cases = [
    ['demo', '--files', '0'],
    ['demo', '--workers', '0'],
    ['demo', '--processor', 'nope'],
    ['stack', '--ftp-port', 'abc'],
  ];
  const runs = await Promise.all(cases.map((args) => runCli(t, [...args, '--data-dir', tempDir()])));
  runs.forEach((run, i) => {
    assertExit(run, 2);
    assert.match(run.stderr, new RegExp(cases[i]![1]!), 'names the flag');
  });
});

test(
  'stack with a port already taken names the port and the flag that changes it (exit 2)',
  { timeout: 30_000 },
  async (t) => {
    const taken = await freePort();
    await holdPort(t, taken);
    const [temporal, ui, redis] = await Promise.all([freePort(), freePort(), freePort()]);
    const ports = ['--temporal-port', temporal, '--ui-port', ui, '--redis-port', redis, '--ftp-port', taken];
    const run = await runCli(t, ['stack', '--data-dir', tempDir(), ...ports.map(String)]);
    assertExit(run, 2);
    assert.match(run.stderr, new RegExp(`${taken} \\(FTP\\)`));
    assert.match(run.stderr, /--ftp-port/);
    assert.doesNotMatch(run.stderr, /--redis-port|--temporal-port|--ui-port/, 'only the taken port');
  },
);

test(
  'demo --data-dir refuses a directory of user files and deletes nothing (exit 2)',
  { timeout: 30_000 },
  async (t) => {
    const cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'sub'));
    fs.writeFileSync(path.join(cwd, 'sub', 'important.txt'), 'keep me');
    const demo = startCli(t, ['demo', '--files', '1', '--once', '--data-dir', '.'], cwd);
    // A demo that takes the directory runs on: look at the file after a while, whatever the demo does.
    const run = await Promise.race([demo.ended, sleep(15_000, undefined, { ref: false })]);
    assert.equal(fs.readFileSync(path.join(cwd, 'sub', 'important.txt'), 'utf8'), 'keep me');
    assert.ok(run, `the demo did not refuse the directory:\n${demo.output.stderr}`);
    assertExit(run, 2);
    assert.match(run.stderr, /--data-dir/);
  },
);

// Shared by the next two: the second run finds the first one's data dir and starts afresh in it.
const demoDir = path.join(tempDir(), 'demo');

test(
  'demo --processor command --once: every file DONE, exit 0, the JSON summary last',
  { timeout: 60_000 },
  async (t) => {
    const run = await runCli(t, ['demo', '--files', '3', '--processor', 'command', '--once', '--data-dir', demoDir]);
    assertExit(run, 0);
    assert.deepEqual({ ...summaryOf(run), seconds: 0 }, { files: 3, done: 3, rejected: 0, seconds: 0 });
  },
);

test('demo --once with REJECTED files: exit 0 and the JSON summary counts them', { timeout: 60_000 }, async (t) => {
  const demo = startCli(t, ['demo', '--files', '2', '--processor', 'checksum', '--once', '--data-dir', demoDir]);
  // Before the first poll (the schedule comes after the workers): a file where the outputs need a folder
  // rejects every file at its publish (type-conflict).
  await demo.waitForStderr(/^FTP server:/m);
  fs.mkdirSync(path.join(demoDir, 'processed'), { recursive: true });
  fs.writeFileSync(path.join(demoDir, 'processed', 'demo'), 'in the way');
  const run = await demo.ended;
  assertExit(run, 0);
  assert.deepEqual({ ...summaryOf(run), seconds: 0 }, { files: 2, done: 0, rejected: 2, seconds: 0 });
});

const KILL_TEST = 'demo: a killed worker is reported and restarted, the run ends DONE; metrics on a port it bound';
test(KILL_TEST, { timeout: 90_000 }, async (t) => {
  const held = await holdPort(t, 9464); // the demo's usual metrics port, taken
  const dataDir = path.join(tempDir(), 'demo');
  const demo = startCli(t, ['demo', '--files', '4', '--workers', '1', '--once', '--data-dir', dataDir]);
  const [, metricsUrl] = await demo.waitForStderr(/^Metrics: (\S+)/m);
  if (held) assert.doesNotMatch(metricsUrl!, /:9464\//, 'not the port held by another process');
  else t.diagnostic('9464 was held by another process for 5 s: which port the demo takes is not checked');
  await demo.waitForStderr(/[1-9] working/);
  assert.equal((await fetch(metricsUrl!)).status, 200, `${metricsUrl} answers`);
  process.kill(workerPid(path.join(dataDir, 'config.json')), 'SIGKILL');
  await demo.waitForStderr(/worker 1 exited unexpectedly \(signal SIGKILL\).*worker-1\.log; restarting it/);
  const run = await demo.ended;
  assertExit(run, 0);
  assert.deepEqual({ ...summaryOf(run), seconds: 0 }, { files: 4, done: 4, rejected: 0, seconds: 0 });
});
