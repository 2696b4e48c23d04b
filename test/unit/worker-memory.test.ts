// The worker's memory settings (src/worker/memory.ts, docs/PERFORMANCE.md "Memory"): the workflow thread's isolate
// gets the heap limits even when the process was started without them; the workflow bundle's source map keeps its
// mappings without the sources' text; a worker's environment returns freed large native blocks to the system;
// `ftp-ingest` runs the compiled lib/ only while it is fresh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { withoutSourcesContent } from '../../src/plugins/worker';
import { projectRoot } from '../../src/stack/tools';
import { applyWorkerFlagsToNewIsolates, WORKER_ENV, WORKER_NODE_FLAGS } from '../../src/worker/memory';

const MiB = 2 ** 20;

/** The old-space limit and young generation of a new thread's isolate. */
function threadHeap(): Promise<{ limitMiB: number }> {
  const code = `const v8 = require('node:v8'); const { parentPort } = require('node:worker_threads');
    parentPort.postMessage({ limitMiB: v8.getHeapStatistics().heap_size_limit / ${MiB} });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', (m: { limitMiB: number }) => resolve(m));
    worker.once('error', reject);
  });
}

describe('worker memory', () => {
  test('a thread created after applyWorkerFlagsToNewIsolates has the worker heap limit', async (t) => {
    const limit = Number(/--max-old-space-size=(\d+)/.exec(WORKER_NODE_FLAGS.join(' '))?.[1]);
    assert.ok(limit > 0, 'WORKER_NODE_FLAGS sets an old-space limit');
    const before = await threadHeap();
    // Node's default limit grows with the machine's memory: on a very small machine it tells nothing apart.
    if (before.limitMiB < limit + 64) return t.skip(`Node's default heap limit here is ${before.limitMiB} MiB`);
    applyWorkerFlagsToNewIsolates();
    const after = await threadHeap();
    // V8 adds the young generation to the old-space limit.
    assert.ok(after.limitMiB >= limit && after.limitMiB < limit + 64, `limit ${after.limitMiB} MiB`);
  });

  test('with WORKER_ENV, large native blocks freed between small kept ones leave the process', (t) => {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    if (process.platform !== 'linux' || !header?.glibcVersionRuntime) return t.skip('needs Linux with glibc');
    // A freed 4 MiB block raises glibc's dynamic mmap threshold; then 100 MiB of 256 KiB buffers, each beside a
    // small one that stays, are freed. Under the dynamic threshold the small ones pin the freed pages (RSS stays
    // up by ~100 MiB); with WORKER_ENV every large block has its own mapping and goes back.
    const code = `const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
      let warm = Buffer.alloc(4 * ${MiB}, 1); warm = null; gc(); gc();
      const before = rss(); const kept = []; let big = [];
      for (let i = 0; i < 400; i++) { big.push(Buffer.alloc(256 * 1024, 1)); kept.push(Buffer.alloc(4096, 1)); }
      const peak = rss(); big = null; gc(); gc();
      console.log(JSON.stringify({ before, peak, after: rss(), kept: kept.length }));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', code], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...WORKER_ENV },
    });
    assert.equal(run.status, 0, run.stderr);
    const { before, peak, after } = JSON.parse(run.stdout) as { before: number; peak: number; after: number };
    assert.ok(peak - before > 80, `the buffers took ${peak - before} MiB`);
    assert.ok(after - before < 20, `${after - before} MiB stayed after the buffers were freed (peak ${peak})`);
  });

  test('withoutSourcesContent keeps the code and the mappings, and drops the sources', () => {
    const map = { version: 3, file: 'b.js', sources: ['a.ts'], sourcesContent: ['x'.repeat(1000)], mappings: 'AAAA' };
    const encoded = Buffer.from(JSON.stringify(map)).toString('base64');
    const code = `var a = 1;\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${encoded}\n`;
    const lean = withoutSourcesContent(code);
    const at = lean.lastIndexOf('//# sourceMappingURL=data:');
    assert.equal(lean.slice(0, at), 'var a = 1;\n');
    const leanMap = JSON.parse(Buffer.from(lean.slice(lean.indexOf('base64,', at) + 7), 'base64').toString()) as {
      sourcesContent?: unknown;
    };
    assert.deepEqual(leanMap, { version: 3, file: 'b.js', sources: ['a.ts'], mappings: 'AAAA' });
    assert.equal(withoutSourcesContent('var a = 1;\n'), 'var a = 1;\n', 'a bundle without a map is unchanged');
  });

  test('lib/ is fresh after a build and runs the CLI', () => {
    const build = spawnSync(process.execPath, [path.join(projectRoot, 'scripts', 'build.js'), '--if-stale'], {
      encoding: 'utf8',
    });
    assert.equal(build.status, 0, build.stderr);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { fresh } = require(path.join(projectRoot, 'scripts', 'build.js')) as { fresh: () => boolean };
    assert.equal(fresh(), true);
    const help = spawnSync(process.execPath, [path.join(projectRoot, 'bin', 'ftp-ingest.js'), '--help'], {
      encoding: 'utf8',
    });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /worker/);
  });
});
