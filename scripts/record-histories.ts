// Records workflow histories for the replay tests (test/replay.test.ts), on real servers:
//   node --import tsx scripts/record-histories.ts
// Run it when a workflow gains a new code path worth guarding; keep the old fixtures so that changes to
// the workflows stay compatible with histories of runs already in flight (use `patched()` where needed).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import Redis from 'ioredis';
import { parseConfig } from '../src/config';
import { Ledger, type Status } from '../src/ledger';
import { pollInputOf } from '../src/shared/patch-level';
import { startEmbeddedStack } from '../src/stack/embedded';
import { projectRoot, temporalBinary } from '../src/stack/tools';
import { createIngestWorker } from '../src/worker/create-worker';
import { pollWorkflow } from '../src/workflows';

const fixtures = path.resolve(__dirname, '..', 'test', 'fixtures', 'histories');
const PASSWORD_ENV = 'FTP_INGEST_RECORD_PASSWORD';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftp-ingest-record-'));
  const stack = await startEmbeddedStack({ dataDir, ftpPassword: 'record', headless: true });
  const redis = new Redis(stack.redis.url);
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
  let worker: Awaited<ReturnType<typeof createIngestWorker>> | undefined;
  let running: Promise<void> | undefined;
  try {
    const source = { host: stack.ftp.host, port: stack.ftp.port, user: stack.ftp.user, passwordEnv: PASSWORD_ENV };
    const timing = {
      heartbeatTimeout: '1s',
      activityMaxInterval: '1s',
      retryTimeout: '8s',
      pollInterval: '1s',
      requireStableSize: false,
    };
    const config = parseConfig({
      plugins: [path.join(fixtures, '..', 'plugins', 'echo.js')],
      temporal: { address: stack.temporal.address, taskQueue: 'record' },
      redis: { url: stack.redis.url },
      workDir: path.join(dataDir, 'work'),
      processedDir: path.join(dataDir, 'processed'),
      sources: [
        { id: 'good', remoteDir: '/good', processor: 'checksum', ...source, ...timing },
        // A plugin's workflow processor: the file workflow runs it as a child (patch 'workflow-processor').
        { id: 'flow', remoteDir: '/flow', processor: { workflow: 'echo' }, ...source, ...timing },
        // A poll that claims its cap lists and claims again (patch 'claim-again-at-cap'); a remote action.
        {
          id: 'backlog',
          remoteDir: '/backlog',
          processor: 'checksum',
          maxAcceptPerPoll: 1,
          remoteAction: { type: 'delete' },
          ...source,
          ...timing,
        },
        // The small-file fast path (patch 'small-file-fast-path'): one local activity, the commit, the remote action.
        {
          id: 'fast',
          remoteDir: '/fast',
          processor: 'checksum',
          smallFileMaxBytes: 1_024,
          remoteAction: { type: 'delete' },
          ...source,
          ...timing,
        },
        // A poll at maxInFlight waits for room and claims again (patch 'wait-for-in-flight-room').
        {
          id: 'room',
          remoteDir: '/room',
          processor: 'checksum',
          maxInFlight: 1,
          ...source,
          ...timing,
          pollInterval: '10s',
          retryTimeout: '20s',
        },
        {
          id: 'bad',
          remoteDir: '/bad',
          processor: { name: 'command', options: { command: ['false'] } },
          ...source,
          ...timing,
        },
      ],
    });
    for (const [dir, name] of [
      ['good', 'a.csv'],
      ['bad', 'b.csv'],
      ['flow', 'c.csv'],
      ['backlog', 'd.csv'],
      ['backlog', 'e.csv'],
      ['fast', 'f.csv'],
      ['room', 'g.csv'],
      ['room', 'h.csv'],
    ] as const) {
      fs.mkdirSync(path.join(stack.ftp.root, dir), { recursive: true });
      fs.writeFileSync(path.join(stack.ftp.root, dir, name), `${name}\n`);
    }
    worker = await createIngestWorker({ config, connection, redis, env: { [PASSWORD_ENV]: 'record' } });
    running = worker.run();
    const ledger = new Ledger(redis);
    const poll = async (sourceId: string): Promise<string> => {
      const workflowId = `record-poll/${sourceId}`;
      await client.workflow.execute(pollWorkflow, { taskQueue: 'record', workflowId, args: [pollInputOf(sourceId)] });
      return workflowId;
    };
    const save = async (name: string, workflowId: string): Promise<void> => {
      await client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => undefined);
      // The CLI's JSON is the format Worker.runReplayHistory reads.
      const args = ['workflow', 'show', '--workflow-id', workflowId, '--address', stack.temporal.address, '-o', 'json'];
      // Failure stack traces name local files: keep machine paths out of the repository.
      const json = execFileSync(temporalBinary(), args, { encoding: 'utf8' }).split(projectRoot).join('.');
      const file = freshName(name);
      fs.writeFileSync(path.join(fixtures, file), json);
      console.log(`recorded ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
    };
    const settled = async (sourceId: string, file: string, statuses: Status[]): Promise<string> => {
      for (;;) {
        const record = await ledger.get(sourceId, file);
        if (record && statuses.includes(record.status) && record.workflowId) return record.workflowId;
        await sleep(200);
      }
    };
    fs.mkdirSync(fixtures, { recursive: true });
    await save('poll-workflow-three-claims', await poll('good'));
    await save('file-workflow-done', await settled('good', 'a.csv', ['DONE']));
    await poll('flow');
    await save('file-workflow-workflow-processor', await settled('flow', 'c.csv', ['DONE']));
    await save('poll-workflow-claims-again', await poll('backlog'));
    await save('file-workflow-remote-action', await settled('backlog', 'd.csv', ['DONE']));
    await poll('fast');
    await save('file-workflow-fast-path', await settled('fast', 'f.csv', ['DONE']));
    // Its poll waits for room only until shortly before the next multiple of its 10 s interval: start just after one.
    await sleep(10_000 - (Date.now() % 10_000) + 100);
    await save('poll-workflow-waits-for-room', await poll('room'));
    await poll('bad').catch(() => undefined);
    await save('file-workflow-released', await settled('bad', 'b.csv', ['RETRY_WAIT', 'REJECTED']));
  } finally {
    worker?.shutdown();
    await running;
    redis.disconnect();
    await client.connection.close();
    await connection.close();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Fixtures are never overwritten: histories of older code must keep replaying. */
function freshName(name: string): string {
  for (let n = 1; ; n++) {
    const file = n === 1 ? `${name}.json` : `${name}-${n}.json`;
    if (!fs.existsSync(path.join(fixtures, file))) return file;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
