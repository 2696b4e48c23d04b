#!/usr/bin/env node
// Runs the test files (all of test/, or the ones named) with Node's built-in test runner and tsx.
// Node 20's `--test` takes no globs, so the files are listed here.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function findTests(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'helpers' || entry.name === 'fixtures' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

// Arguments are test files or folders of them; none means all of test/.
const named = process.argv.slice(2);
const files = (named.length > 0 ? named : ['test']).flatMap((arg) =>
  fs.statSync(path.join(root, arg)).isDirectory() ? findTests(path.join(root, arg)).sort() : [arg],
);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// --test-force-exit: a test file whose tests are done exits even if a stuck handle would keep it alive.
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-force-exit',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
