// The CLI against servers given by a config file (not the embedded defaults): schedule, poll, status, retry.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { PASSWORD, PASSWORD_ENV, usePipeline } from './helpers/pipeline';

const run = promisify(execFile);
const bin = path.join(__dirname, '..', 'bin', 'ftp-ingest.js');

const pipeline = usePipeline({
  sources: [
    { id: 'cli' },
    { id: 'cli-bad', processor: { name: 'command', options: { command: ['false'] } }, maxTries: 1 },
  ],
});

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [bin, '--config', pipeline.configFile, ...args], {
    env: { ...process.env, [PASSWORD_ENV]: PASSWORD },
  });
  return stdout;
}
const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('ftp-ingest CLI', () => {
  test('schedule create, describe and delete', async () => {
    assert.deepEqual(
      jsonLines(await cli('schedule', 'create', '--source', 'cli')).map((l) => l.schedule),
      ['created'],
    );
    assert.equal(jsonLines(await cli('schedule', 'create', '--source', 'cli'))[0]?.schedule, 'updated');
    assert.equal(jsonLines(await cli('schedule', 'describe', '--source', 'cli'))[0]?.exists, true);
    assert.equal(jsonLines(await cli('schedule', 'delete', '--source', 'cli'))[0]?.deleted, true);
    assert.equal(jsonLines(await cli('schedule', 'describe', '--source', 'cli'))[0]?.exists, false);
    // No worker runs yet: the polls the schedule started are still waiting; they must not run later.
    for await (const run of pipeline.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      await pipeline.client.workflow.getHandle(run.workflowId, run.runId).terminate('test: schedule deleted');
    }
  });

  test('poll prints its summary; status shows the ledger; retry gives a REJECTED file new tries', async () => {
    await pipeline.startWorker();
    pipeline.putRemote('cli', 'a.csv', 'a\n');
    pipeline.putRemote('cli-bad', 'b.csv', 'b\n');
    const [summary] = jsonLines(await cli('poll', '--source', 'cli'));
    assert.equal(summary?.claimed, 1);
    assert.equal(summary?.listed, 1);
    await pipeline.waitForStatus('cli', 'a.csv', ['DONE']);

    await cli('poll', '--source', 'cli-bad');
    await pipeline.waitForStatus('cli-bad', 'b.csv', ['REJECTED']);
    const [status] = jsonLines(await cli('status', '--source', 'cli-bad', '--json'));
    assert.deepEqual(status?.counts, { IN_PROGRESS: 0, DONE: 0, REJECTED: 1, RETRY_WAIT: 0 });
    assert.equal((status?.files as { path: string }[])[0]?.path, 'b.csv');

    assert.equal(jsonLines(await cli('dead-letters', 'cli-bad')).length, 1);
    assert.equal(jsonLines(await cli('retry', 'cli-bad', 'b.csv'))[0]?.ok, true);
    assert.equal((await pipeline.ledger.get('cli-bad', 'b.csv'))?.status, 'RETRY_WAIT');
    assert.match(await cli('status'), /source cli: IN_PROGRESS=0 DONE=1 REJECTED=0 RETRY_WAIT=0/);
  });

  test('a bad config stops the command with a message naming the setting', async () => {
    await assert.rejects(
      run(process.execPath, [bin, 'status'], { env: { ...process.env, FTP_INGEST_REDIS_URL: 'http://nope' } }),
      (err: { stderr: string; code: number }) => err.code === 1 && /redis\.url/.test(err.stderr),
    );
  });
});
