// Fault scenario "FTP cut": a proxy between the workers and the FTP server carries the control connection and
// every passive data connection, and cuts data connections after K bytes — by a reset (a dropped network) or by
// a clean FIN (a transfer that merely looks complete). Each download must resume at its byte offset (REST) in
// the same claim attempt, and every file must end DONE once, byte-identical to the source.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Client } from 'basic-ftp';
import { downloadToFile } from '../../src/ftp/download';
import { FtpTransientError } from '../../src/ftp/errors';
import { accountSource, countingProcessor, scaled, sha256 } from '../helpers/faults';
import { ftpProxy } from '../helpers/ftp-proxy';
import { usePipeline } from '../helpers/pipeline';
import { tempDir } from '../helpers/servers';

const MiB = 1024 * 1024;
const SOURCE = 'cut';
const LARGE = scaled(3, 8);
const LARGE_BYTES = scaled(4, 16) * MiB;
const SMALL = scaled(5, 20);
const CUT_AFTER = 1 * MiB + 12_345;
const CUTS = scaled(6, 24);
const invocationsLog = path.join(tempDir('ftp-ingest-cut-'), 'invocations.log');

const proxy = ftpProxy();
const unitProxy = ftpProxy();
const pipeline = usePipeline({
  sources: [{ id: SOURCE, processor: countingProcessor(invocationsLog) }],
  ftpVia: (ftp) => proxy.start(ftp),
});

test(`FTP cut: ${LARGE} files of ${LARGE_BYTES / MiB} MiB, data connections reset ${CUTS} times after ${CUT_AFTER} B`, async (t) => {
  const started = Date.now();
  const expected = new Map<string, string>();
  const large = new Map<string, Buffer>();
  for (let i = 0; i < LARGE; i++) {
    const content = randomBytes(LARGE_BYTES);
    large.set(`large-${i}.bin`, content);
    pipeline.putRemote(SOURCE, `large-${i}.bin`, content);
    expected.set(`large-${i}.bin`, sha256(content));
  }
  for (let i = 0; i < SMALL; i++) {
    const content = randomBytes(1_000 + i * 777);
    pipeline.putRemote(SOURCE, `small-${i}.bin`, content);
    expected.set(`small-${i}.bin`, sha256(content));
  }
  // Resets (a dropped network); each large download is cut about twice. Clean FINs are cut in the tests below and
  // in real-ftp-server: after one, ftp-srv sometimes never sends its final reply, and the download then waits for
  // basic-ftp's 30 s control timeout before it resumes — correct, but too slow for this file's budget.
  proxy.cutData({ afterBytes: CUT_AFTER, times: CUTS, modes: ['reset'] });
  await pipeline.startWorker();

  const deadline = Date.now() + scaled(50_000, 300_000);
  for (;;) {
    const counts = await pipeline.ledger.counts(SOURCE);
    if (counts.DONE === expected.size) break;
    if (Date.now() > deadline) {
      const stuck = (await pipeline.ledger.list(SOURCE, { status: 'IN_PROGRESS' })).records;
      for (const record of stuck) {
        const { raw } = await pipeline.client.workflow.getHandle(record.workflowId!).describe();
        t.diagnostic(`stuck ${record.path}: ${JSON.stringify(raw.pendingActivities)}`);
      }
      assert.fail(`files not all DONE in time: ${JSON.stringify(counts)}; proxy ${JSON.stringify(proxy.stats)}`);
    }
    await pipeline.poll(SOURCE);
    await sleep(500);
  }
  for (const name of expected.keys()) await pipeline.fileResult((await pipeline.ledger.get(SOURCE, name))!);

  const served = (name: string): number => pipeline.ftp.served.perPath.get(`/${SOURCE}/${name}`) ?? 0;
  const { stats } = proxy;
  t.diagnostic(
    `proxy: control=${stats.controlConnections} data=${stats.dataConnections} relayed=${stats.dataBytes} B cuts=${stats.cuts} REST offsets=${stats.restOffsets.filter((n) => n > 0).join(',')}`,
  );
  for await (const wf of pipeline.client.workflow.list({ query: `WorkflowType = 'fileWorkflow'` })) {
    const result = (await pipeline.client.workflow.getHandle(wf.workflowId).result()) as {
      outcome: string;
      error?: string;
    };
    if (result.outcome !== 'done') t.diagnostic(`${wf.workflowId}: ${result.outcome} ${result.error ?? ''}`);
  }
  for (const [name, content] of large) {
    const record = (await pipeline.ledger.get(SOURCE, name))!;
    t.diagnostic(`${name}: ${content.length} B, served by the server ${served(name)} B, tries ${record.tries}`);
    assert.equal(record.tries, 1, `${name}: resumed within its first claim attempt, not released and re-claimed`);
    assert.ok(served(name) < 2 * content.length, `${name}: resumed, not fetched again from the start`);
  }
  const totalLarge = LARGE * LARGE_BYTES;
  assert.equal(stats.cuts, CUTS, 'the proxy cut as many data connections as planned');
  assert.ok(stats.dataBytes >= totalLarge, 'the file data really went through the proxy');
  assert.ok(
    stats.restOffsets.filter((n) => n > 0).length >= CUTS,
    'every cut download was resumed with REST at a byte offset',
  );
  const figures = await accountSource(pipeline, {
    scenario: 'ftp-cut',
    sourceId: SOURCE,
    expected,
    invocationsLog,
  });
  t.diagnostic(
    `files=${figures.files} done=${figures.done} commits=${figures.commits} invocations=${figures.invocations} seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
  );
});

// The product bug this scenario found: ftp-srv answers a broken data connection with `551 read ECONNRESET`, and
// a cleanly closed one can end with `226`; both were taken for a file error / a changed file, which ended the
// claim attempt and threw the partial download away. Both are now a transient error, and the next call resumes.
for (const mode of ['reset', 'end'] as const) {
  test(`downloadToFile: a data connection cut by ${mode === 'reset' ? 'a reset' : 'a FIN'} is transient and resumes`, async () => {
    const content = randomBytes(6 * MiB);
    pipeline.putRemote(SOURCE, `unit-${mode}.bin`, content);
    const via = await unitProxy.start(pipeline.ftp);
    unitProxy.cutData({ afterBytes: 2 * MiB, times: 1, modes: [mode] });
    const part = path.join(tempDir('ftp-ingest-cut-unit-'), 'file.part');
    const download = async (): Promise<Awaited<ReturnType<typeof downloadToFile>>> => {
      const client = new Client(5_000);
      try {
        await client.access({ ...via, user: pipeline.ftp.user, password: pipeline.password });
        return await downloadToFile(client, `/${SOURCE}/unit-${mode}.bin`, part, { expectedSize: content.length });
      } finally {
        client.close();
      }
    };
    await assert.rejects(download(), FtpTransientError);
    const kept = fs.statSync(part).size;
    assert.ok(kept > 0 && kept <= 2 * MiB, `the part file keeps what arrived (${kept} B)`);
    const resumed = await download();
    assert.equal(resumed.resumedFrom, kept);
    assert.equal(sha256(fs.readFileSync(part)), sha256(content));
  });
}

// pure-ftpd ends an aborted transfer with a second `150` (its statistics), and basic-ftp pipes the data connection
// into the download again on every 150: each later byte would be written twice. The download refuses the second
// feed (transient), keeps a faithful prefix, and the next call completes the file.
test('downloadToFile: a second 150 during a transfer is refused before any byte is written twice', async () => {
  const content = randomBytes(6 * MiB);
  pipeline.putRemote(SOURCE, 'unit-150.bin', content);
  const via = await unitProxy.start(pipeline.ftp);
  const part = path.join(tempDir('ftp-ingest-cut-unit-'), 'file.part');
  const download = async (): Promise<Awaited<ReturnType<typeof downloadToFile>>> => {
    const client = new Client(5_000);
    try {
      await client.access({ ...via, user: pipeline.ftp.user, password: pipeline.password });
      return await downloadToFile(client, `/${SOURCE}/unit-150.bin`, part, { expectedSize: content.length });
    } finally {
      client.close();
    }
  };
  unitProxy.replyDuringNextTransfer('150 0.012 seconds (measured here), 85.21 Mbytes per second\r\n');
  await assert.rejects(download(), (err: unknown) => {
    assert.ok(err instanceof FtpTransientError, String(err));
    assert.match(err.message, /fed twice/);
    return true;
  });
  // On loopback the whole file may have arrived before the second 150: never more, and never a byte twice.
  const kept = fs.readFileSync(part);
  assert.ok(kept.length <= content.length, `no byte written twice (${kept.length} B)`);
  assert.ok(kept.equals(content.subarray(0, kept.length)), 'the part is a prefix of the remote file');
  await download();
  assert.equal(sha256(fs.readFileSync(part)), sha256(content));
});

// A server without REST (or one refusing it for a file) answers 502: a kept part file can never be continued
// there, so the download drops it and the next call fetches the whole file, instead of asking REST for ever.
test('downloadToFile: a server that refuses REST gets the whole file fetched again', async () => {
  const content = randomBytes(300_000);
  pipeline.putRemote(SOURCE, 'unit-no-rest.bin', content);
  const via = await unitProxy.start(pipeline.ftp);
  unitProxy.answerCommands((command) => (/^REST [1-9]/.test(command) ? '502 REST not implemented' : undefined));
  const part = path.join(tempDir('ftp-ingest-cut-unit-'), 'file.part');
  fs.writeFileSync(part, content.subarray(0, 100_000)); // what a cut first run left
  const download = async (): Promise<Awaited<ReturnType<typeof downloadToFile>>> => {
    const client = new Client(5_000);
    try {
      await client.access({ ...via, user: pipeline.ftp.user, password: pipeline.password });
      return await downloadToFile(client, `/${SOURCE}/unit-no-rest.bin`, part, { expectedSize: content.length });
    } finally {
      client.close();
    }
  };
  try {
    await assert.rejects(download(), (err: unknown) => {
      assert.ok(err instanceof FtpTransientError, String(err));
      assert.match(err.message, /refused \(502/);
      return true;
    });
    assert.equal(fs.existsSync(part), false, 'the part that cannot be continued is dropped');
    const whole = await download();
    assert.equal(whole.resumedFrom, 0);
    assert.equal(sha256(fs.readFileSync(part)), sha256(content));
  } finally {
    unitProxy.answerCommands(undefined);
  }
});
