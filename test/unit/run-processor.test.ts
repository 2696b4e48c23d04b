// `ftp-ingest/testing`'s runProcessor holds a processor to the worker's rules on what it hands back, so that a
// plugin's unit tests fail on what the worker would refuse (a checkpoint too large, a result with no JSON form).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MAX_CHECKPOINT_BYTES } from '../../src/activities/processor-output';
import { command, withholdFromCommands } from '../../src/processors/command';
import type { AnyProcessor } from '../../src/processors/types';
import { runProcessor } from '../../src/testing/run-processor';
import { tempDir } from '../helpers/servers';

const dir = tempDir('ftp-ingest-unit-run-processor-');
const input = (): string => {
  const localPath = path.join(dir, 'a.csv');
  fs.writeFileSync(localPath, 'id\n1\n');
  return localPath;
};

test('what the worker keeps: nothing returned is {}, a result is its JSON form', async () => {
  const nothing: AnyProcessor = () => Promise.resolve(undefined as unknown as object);
  assert.deepEqual((await runProcessor(nothing, { localPath: input() })).result, {});
  const dated: AnyProcessor = () => Promise.resolve({ at: new Date(0) });
  assert.deepEqual((await runProcessor(dated, { localPath: input() })).result, { at: '1970-01-01T00:00:00.000Z' });
});

test('what the worker refuses throws: a result with no JSON form, a checkpoint over the limit', async () => {
  const bigint: AnyProcessor = () => Promise.resolve({ rows: 1n });
  await assert.rejects(runProcessor(bigint, { localPath: input() }), /processor result is not JSON/);
  const hoarder: AnyProcessor = (ctx) => {
    ctx.heartbeat({ done: 1, total: 1, unit: 'row' }, { rows: 'x'.repeat(MAX_CHECKPOINT_BYTES) });
    return Promise.resolve({});
  };
  await assert.rejects(runProcessor(hoarder, { localPath: input() }), /processor checkpoint is \d+ bytes, over/);
});

test("the command processor's commands do not inherit the variables of the worker's secrets", async () => {
  process.env.UNIT_SECRET_VAR = 'sekret-0b9e';
  process.env.UNIT_PLAIN_VAR = 'plain';
  try {
    withholdFromCommands(['UNIT_SECRET_VAR']);
    const run = await runProcessor(command, {
      localPath: input(),
      options: { command: ['sh', '-c', 'echo "${UNIT_SECRET_VAR-withheld} ${UNIT_PLAIN_VAR-missing}"'] },
    });
    assert.deepEqual(run.result, { exitCode: 0, stdoutTail: 'withheld plain' });
  } finally {
    delete process.env.UNIT_SECRET_VAR;
    delete process.env.UNIT_PLAIN_VAR;
  }
});
