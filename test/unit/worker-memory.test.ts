// The worker's memory settings (src/worker/memory.ts, docs/PERFORMANCE.md "Memory"): the workflow thread's isolate
// gets the heap limits even when the process was started without them; the workflow bundle's source map keeps its
// mappings without the sources' text; `ftp-ingest` runs the compiled lib/ only while it is fresh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { withoutSourcesContent } from '../../src/plugins/worker';
import { projectRoot } from '../../src/stack/tools';
import { applyWorkerFlagsToNewIsolates, WORKER_NODE_FLAGS } from '../../src/worker/memory';

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
