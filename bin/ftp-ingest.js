#!/usr/bin/env node
// Entry point of the `ftp-ingest` command: runs the TypeScript sources through tsx, no build step needed.
// On a fresh clone (`npx ftp-ingest demo` before any install) it first runs the project's setup, which
// installs the npm dependencies and, for the commands that start servers, the Temporal CLI and redis-server.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const startsServers = ['demo', 'stack'].includes(process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '');
let installed = true;
try {
  require.resolve('tsx/cjs');
} catch {
  installed = false;
}
if (!installed || startsServers) {
  const setup = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'setup.js'), '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
require('tsx/cjs');
require('../src/starter/cli.ts');
