#!/usr/bin/env node
// Entry point of the `ftp-ingest` command. It runs the compiled lib/ (`npm run setup` builds it from src/) while
// lib/ is newer than every source file, and the TypeScript sources through tsx otherwise (no build step needed;
// an edited source is never run stale). lib/ spares a worker process tsx's compiler (docs/PERFORMANCE.md).
// On a fresh clone (`npx ftp-ingest demo` before any install) it first runs the project's setup, which
// installs the npm dependencies and, for the commands that start servers, the Temporal CLI and redis-server.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const startsServers = ['demo', 'stack'].includes(process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '');
let installed = true;
try {
  require.resolve('tsx/cjs');
} catch {
  installed = false;
}
if (!installed || startsServers) {
  const setup = spawnSync(process.execPath, [path.join(root, 'scripts', 'setup.js'), '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
if (process.env.FTP_INGEST_SOURCES !== '1' && require('../scripts/build.js').fresh()) {
  require('../lib/starter/cli.js');
} else {
  require('tsx/cjs');
  require('../src/starter/cli.ts');
}
