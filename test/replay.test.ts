// Every recorded history (test/fixtures/histories, made by scripts/record-histories.ts) must replay against
// the current workflow code: a change that breaks determinism for runs in flight fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

const dir = path.join(__dirname, 'fixtures', 'histories');
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

test('recorded histories of both workflows replay against the current code', async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  assert.ok(
    fixtures.some((f) => f.startsWith('poll-workflow')),
    'a poll workflow history is recorded',
  );
  assert.ok(
    fixtures.some((f) => f.startsWith('file-workflow')),
    'a file workflow history is recorded',
  );
  const histories = fixtures.map((file) => ({
    workflowId: file,
    history: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown,
  }));
  const results = Worker.runReplayHistories({ workflowsPath: require.resolve('../src/workflows') }, histories);
  let replayed = 0;
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, fixtures.length);
});
