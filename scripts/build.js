#!/usr/bin/env node
// Compiles src/ to lib/ (one JavaScript file per TypeScript file, the other files copied), so that
// `ftp-ingest worker` runs without tsx: its on-the-fly compiler and source maps cost a worker process about 40 MiB
// (docs/PERFORMANCE.md). esbuild (also tsx's compiler) only strips types, file by file (tsconfig's
// isolatedModules); `npm run typecheck` checks them. lib/ mirrors src/ at the same depth, so the paths the code
// derives from __dirname (the project root, the ledger's Lua scripts) are the same. bin/ftp-ingest.js uses lib/
// only while it is newer than every file of src/ (lib/.built), and falls back to tsx otherwise.
//   node scripts/build.js [--if-stale] [--quiet]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');
const lib = path.join(root, 'lib');
const stamp = path.join(lib, '.built');

/** Every file under dir, recursively. */
function filesOf(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesOf(file) : [file];
  });
}

/** lib/ was built after the last change of src/ (the same test as bin/ftp-ingest.js). */
function fresh() {
  if (!fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return filesOf(src).every((file) => fs.statSync(file).mtimeMs < built);
}

function build() {
  const esbuild = require('esbuild');
  const temp = `${lib}.${process.pid}.tmp`;
  fs.rmSync(temp, { recursive: true, force: true });
  for (const file of filesOf(src)) {
    const relative = path.relative(src, file);
    const isTs = file.endsWith('.ts') && !file.endsWith('.d.ts');
    const target = path.join(temp, isTs ? relative.replace(/\.ts$/, '.js') : relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!isTs) {
      fs.copyFileSync(file, target);
      continue;
    }
    const { code } = esbuild.transformSync(fs.readFileSync(file, 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcefile: file,
    });
    fs.writeFileSync(target, code);
  }
  fs.writeFileSync(path.join(temp, '.built'), `${new Date().toISOString()}\n`);
  // Replaced at once: a worker starting meanwhile sees the old lib/ or the new one, never a half-written one.
  const old = `${lib}.${process.pid}.old`;
  if (fs.existsSync(lib)) fs.renameSync(lib, old);
  fs.renameSync(temp, lib);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Builds lib/ unless it is fresh already; returns whether it built. */
function buildIfStale() {
  if (fresh()) return false;
  build();
  return true;
}

if (require.main === module) {
  const started = Date.now();
  if (process.argv.includes('--if-stale') ? buildIfStale() : (build(), true)) {
    if (!process.argv.includes('--quiet')) console.error(`build: lib/ from src/ in ${Date.now() - started} ms`);
  }
}

module.exports = { fresh, buildIfStale };
