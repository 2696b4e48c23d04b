// Plugins named by the config: resolved from the config file's folder (paths and packages), loaded before
// validation, and their processor and workflow names checked with the same one-line errors as the rest.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../src/config';
import { getProcessor } from '../src/processors';
import { filePlanOf } from '../src/activities/deps';
import type { ActivityDeps } from '../src/activities';
import { workerPlugins, workflowsEntry } from '../src/plugins/worker';
import { tempDir } from './helpers/servers';
import { configError } from './helpers/config';

const definePath = require.resolve('../src/plugins/define');
const dir = tempDir('ftp-ingest-plugins-');

/** A plugin module in `dir` (CommonJS, like a built package). */
function writePlugin(file: string, body: string): string {
  const full = path.join(dir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, `const { definePlugin } = require(${JSON.stringify(definePath)});\n${body}\n`);
  return full;
}

function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

writePlugin(
  'workflows.js',
  `exports.review = async function review() { return {}; };\nexports.helper = async function helper() {};`,
);
writePlugin(
  'my-plugins.js',
  `module.exports = definePlugin({
     processors: { 'row-count': async () => ({ rows: 1 }) },
     activities: ({ config }) => ({ hello: async () => config.clusterId }),
     workflowsPath: require.resolve('./workflows'),
     workflows: { review: require('./workflows').review },
   });`,
);
// A package, found by Node's resolution from the config's folder.
writePlugin(
  'node_modules/@acme/ftp-steps/index.js',
  `exports.default = definePlugin({ processors: { upper: async () => ({}) } });`,
);
fs.writeFileSync(
  path.join(dir, 'node_modules/@acme/ftp-steps/package.json'),
  '{"name":"@acme/ftp-steps","main":"index.js"}',
);

const source = (processor: unknown) => ({ id: 'orders', processor });

test('plugins resolve from the config file: paths and packages; sources use their processors and workflows', () => {
  const file = writeConfig('ok.json', {
    plugins: ['./my-plugins.js', '@acme/ftp-steps'],
    sources: [
      source('row-count'),
      { ...source({ workflow: 'review', options: { outDir: '/x' } }), id: 'review' },
      { ...source({ name: 'upper' }), id: 'up' },
    ],
  });
  const config = loadConfig({ file, env: {} });
  assert.deepEqual(config.plugins, [
    path.join(dir, 'my-plugins.js'),
    path.join(dir, 'node_modules/@acme/ftp-steps/index.js'),
  ]);
  assert.deepEqual(config.sources[0]?.processor, { name: 'row-count', options: {} });
  assert.deepEqual(config.sources[1]?.processor, { name: 'review', workflow: 'review', options: { outDir: '/x' } });
  const deps = { config } as ActivityDeps;
  assert.deepEqual(filePlanOf(deps, config.sources[1]).processorWorkflow, {
    name: 'review',
    options: { outDir: '/x' },
  });
  assert.equal(filePlanOf(deps, config.sources[0]).processorWorkflow, undefined, 'plans without one stay as they were');

  const plugins = workerPlugins(config);
  assert.equal(typeof getProcessor('row-count'), 'function', 'the worker registers plugin processors');
  assert.deepEqual(Object.keys(plugins.activities(config, ['processFile'])), ['hello']);
  assert.equal(plugins.hasWorkflows, true);
  const entry = fs.readFileSync(workflowsEntry(config.plugins), 'utf8');
  assert.match(entry, /export \* from ".*src[\\/]workflows[\\/]index\.ts";/);
  assert.ok(entry.includes(`export * from ${JSON.stringify(path.join(dir, 'workflows.js'))};`));
});

test('an unknown plugin, processor or workflow is a one-line config error naming the setting', () => {
  const missing = configError(() =>
    loadConfig({ file: writeConfig('missing.json', { plugins: ['./nope.js'] }), env: {} }),
  );
  assert.equal(missing.issues.length, 1);
  assert.equal(missing.issues[0]?.path, 'plugins[0]');
  assert.match(missing.issues[0]?.message ?? '', /^plugin module not found: given "\.\/nope\.js"; allowed: a path/);

  const unknown = configError(() =>
    parseConfig({ plugins: ['./my-plugins.js'], sources: [source('row-cnt')] }, {}, { baseDir: dir }),
  );
  assert.deepEqual(
    unknown.issues.map((i) => [i.path, i.message]),
    [
      [
        'sources[0].processor.name',
        'unknown processor: given "row-cnt"; allowed: one of checksum, delay, command, row-count',
      ],
    ],
  );
  const workflow = configError(() => parseConfig({ sources: [source({ workflow: 'review' })] }));
  assert.deepEqual(
    workflow.issues.map((i) => [i.path, i.message]),
    [
      [
        'sources[0].processor.workflow',
        'unknown workflow processor: given "review"; allowed: a workflow of a loaded plugin (none: no plugin adds a workflow)',
      ],
    ],
  );
  const both = configError(() => parseConfig({ sources: [source({ name: 'checksum', workflow: 'x' })] }));
  assert.ok(
    both.issues.some((i) => i.path === 'sources[0].processor' && i.message.startsWith('set one of name and workflow')),
  );
});

test("a plugin activity that takes an ftp-ingest activity's name, or a factory that throws: a config error at worker start", () => {
  writePlugin('act-clash.js', `module.exports = definePlugin({ activities: { processFile: async () => ({}) } });`);
  writePlugin('act-throws.js', `module.exports = definePlugin({ activities: () => { throw new Error('no db'); } });`);
  for (const [file, message] of [
    ['./act-clash.js', /^plugin \S*act-clash\.js: activity processFile is already defined by ftp-ingest$/],
    ['./act-throws.js', /^plugin \S*act-throws\.js: its activities factory failed: no db$/],
  ] as const) {
    const config = parseConfig({ plugins: [file] }, {}, { baseDir: dir });
    const err = configError(() => workerPlugins(config).activities(config, ['processFile']));
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['plugins[0]'],
    );
    assert.match(err.issues[0]!.message, message);
  }
});

test('a plugin may not redefine a name, and must export a plugin', () => {
  writePlugin('clash.js', `module.exports = definePlugin({ processors: { checksum: async () => ({}) } });`);
  writePlugin('not-a-plugin.js', `module.exports = { hello: 1 };`);
  writePlugin('broken.js', `throw new Error('boom\\nsecond line');`);
  writePlugin('clash-workflow.js', `module.exports = definePlugin({ workflowsPath: require.resolve('./wf-clash') });`);
  writePlugin('wf-clash.js', `exports.fileWorkflow = async () => ({});`);
  const err = configError(() =>
    parseConfig(
      { plugins: ['./clash.js', './not-a-plugin.js', './broken.js', './clash-workflow.js'] },
      {},
      { baseDir: dir },
    ),
  );
  assert.deepEqual(
    err.issues.map((i) => [i.path, i.message]),
    [
      ['plugins[0]', 'processor "checksum" is already defined by ftp-ingest: given "./clash.js"; allowed: a new name'],
      [
        'plugins[1]',
        'not a plugin: given "./not-a-plugin.js"; allowed: export definePlugin({ processors, activities, workflowsPath, workflows }) as the default export or module.exports',
      ],
      ['plugins[2]', 'plugin module failed to load: boom: given "./broken.js"'],
      ['plugins[3]', 'workflow "fileWorkflow" is already defined by ftp-ingest: given "./clash-workflow.js"'],
    ],
  );
});
