#!/usr/bin/env node
// `npm run test:faults`: the fault scenarios (test/faults), then one line with the figures of all of them:
//   faults: scenarios=S files=F kills=K duplicates=D lost=L
// FAULTS_SCALE=full (or --full) runs them at full size.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-faults-')), 'report.jsonl');
const env = { ...process.env, FAULTS_REPORT: report };
if (process.argv.includes('--full')) env.FAULTS_SCALE = 'full';
const files = process.argv.slice(2).filter((a) => a !== '--full');

const result = spawnSync(
  process.execPath,
  [path.join(__dirname, 'run-tests.js'), ...(files.length ? files : ['test/faults'])],
  {
    stdio: 'inherit',
    cwd: root,
    env,
  },
);
const rows = fs.existsSync(report)
  ? fs
      .readFileSync(report, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
fs.rmSync(path.dirname(report), { recursive: true, force: true });
const sum = (key) => rows.reduce((total, row) => total + (row[key] ?? 0), 0);
for (const row of rows) {
  console.log(
    `fault ${row.scenario}: files=${row.files} kills=${row.kills} invocations=${row.invocations} commits=${row.commits} duplicates=${row.duplicates} lost=${row.lost}`,
  );
}
console.log(
  `faults: scenarios=${rows.length} files=${sum('files')} kills=${sum('kills')} duplicates=${sum('duplicates')} lost=${sum('lost')}`,
);
process.exit(result.status ?? 1);
