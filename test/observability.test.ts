// A worker process serves /metrics, /healthz and /readyz; its log is one JSON object per line with one line
// per file transition. Real Temporal, Redis and FTP; the worker is `ftp-ingest worker` as a child process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { freePort, waitForPort } from '../src/stack/ports';
import { PASSWORD, usePipeline } from './helpers/pipeline';

const pipeline = usePipeline({
  plugins: [path.join(__dirname, 'fixtures', 'plugins', 'stray.js')],
  sources: [
    { id: 'obs' },
    { id: 'poison', processor: { name: 'command', options: { command: ['false'], permanentExitCodes: [1] } } },
    { id: 'stray', processor: { name: 'stray' } },
  ],
});

let base = '';

async function get(pathname: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${pathname}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** The value of one sample (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

async function waitForReady(wanted: number, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await get('/readyz').catch((err: unknown) => ({ status: -1, text: String(err) }));
    if (res.status === wanted) return res;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${res.status}: ${res.text}`);
    await sleep(250);
  }
}

describe('worker observability', () => {
  test('a small run moves the product counters on /metrics, next to the Temporal SDK metrics', async () => {
    const port = await freePort();
    await pipeline.spawnWorker('observed', { FTP_INGEST_METRICS_PORT: String(port) });
    await waitForPort(port, '127.0.0.1', 60_000);
    base = `http://127.0.0.1:${port}`;

    const before = await get('/metrics');
    assert.equal(before.status, 200);
    assert.equal(sample(before.text, 'ftp_ingest_files_committed_total', { source: 'obs' }), undefined);

    const contents = ['a', 'bb', 'ccc'].map((x, i) => [`f${i}.csv`, `id\n${x.repeat(1000)}\n`] as const);
    for (const [name, content] of contents) pipeline.putRemote('obs', name, content);
    pipeline.putRemote('poison', 'bad.csv', 'no good\n');
    assert.equal((await pipeline.poll('obs')).claimed, 3);
    assert.equal((await pipeline.poll('poison')).claimed, 1);
    for (const [name] of contents) await pipeline.fileResult(await pipeline.waitForStatus('obs', name, ['DONE']));
    const bad = await pipeline.waitForStatus('poison', 'bad.csv', ['REJECTED']);
    await pipeline.fileResult(bad).catch(() => undefined); // the lead's change makes it end failed

    const { status, text } = await get('/metrics');
    assert.equal(status, 200);
    assert.equal(sample(text, 'ftp_ingest_files_claimed_total', { source: 'obs' }), 3);
    assert.equal(sample(text, 'ftp_ingest_files_committed_total', { source: 'obs' }), 3);
    assert.equal(sample(text, 'ftp_ingest_files_claimed_total', { source: 'poison' }), 1);
    assert.equal(sample(text, 'ftp_ingest_files_rejected_total', { source: 'poison', reason: 'other' }), 1);
    const bytes = contents.reduce((n, [, c]) => n + Buffer.byteLength(c), 0);
    assert.equal(sample(text, 'ftp_ingest_bytes_downloaded_total', { source: 'obs' }), bytes);
    assert.equal(sample(text, 'ftp_ingest_download_duration_seconds_count', { source: 'obs', outcome: 'ok' }), 3);
    assert.equal(sample(text, 'ftp_ingest_process_duration_seconds_count', { source: 'obs', outcome: 'ok' }), 3);
    assert.ok((sample(text, 'ftp_ingest_claim_batch_duration_seconds_count', { source: 'obs' }) ?? 0) >= 1);
    const lastPoll = sample(text, 'ftp_ingest_last_poll_timestamp_seconds', { source: 'obs' }) ?? 0;
    assert.ok(Math.abs(lastPoll - Date.now() / 1000) < 120, `last poll at ${lastPoll}`);
    assert.equal(sample(text, 'ftp_ingest_file_workflows_failing_tasks', { source: 'obs' }), 0);
    assert.equal(sample(text, 'ftp_ingest_files_in_flight', { source: 'obs', activity: 'downloadFile' }), 0);
    assert.match(text, /^ftp_ingest_ftp_pool_in_use\{endpoint="[^"]+"\} 0$/m);
    assert.match(text, /^ftp_ingest_ftp_pool_waiting\{endpoint="[^"]+"\} 0$/m);
    assert.match(text, /^temporal_[a-z_]+/m, 'the Temporal SDK metrics are served too');
  });

  test('/healthz is up; /readyz is 503 while Redis is down and 200 when it is back; FTP is reported', async () => {
    assert.equal((await get('/healthz')).status, 200);
    const ready = JSON.parse((await waitForReady(200)).text) as {
      checks: Record<string, { ok: boolean }>;
      ftp: Record<string, { ok: boolean }>;
    };
    assert.equal(ready.checks.temporal?.ok, true);
    assert.equal(ready.checks.redis?.ok, true);
    assert.equal(ready.ftp.obs?.ok, true);

    const restarted = pipeline.restartRedis(8_000);
    const down = JSON.parse((await waitForReady(503, 8_000)).text) as { checks: Record<string, { ok: boolean }> };
    assert.equal(down.checks.redis?.ok, false);
    assert.equal(down.checks.temporal?.ok, true, 'Temporal is still fine');
    assert.equal((await get('/healthz')).status, 200, 'the process is still up');
    await restarted;
    await waitForReady(200, 30_000);
  });

  test('a promise a processor leaves rejected is logged (redacted); the worker and the file go on', async () => {
    pipeline.putRemote('stray', 'a.csv', 'a\n');
    assert.equal((await pipeline.poll('stray')).claimed, 1);
    await pipeline.waitForStatus('stray', 'a.csv', ['DONE']);
    await sleep(500);
    assert.equal((await get('/healthz')).status, 200, 'the worker still runs');
    const log = fs.readFileSync(path.join(pipeline.dataDir, 'observed.log'), 'utf8');
    const stray = log.split('\n').find((line) => line.includes('unhandled promise rejection'));
    assert.ok(stray, 'the stray rejection is logged');
    assert.match(stray, /background upload failed for \*\*\*/);
    assert.ok(!log.includes(PASSWORD), 'no password in the log');
    assert.equal(sample((await get('/metrics')).text, 'ftp_ingest_unhandled_rejections_total'), 1);
  });

  test('the worker log is one JSON object per line, one line per transition, no task tokens, no bundle report', () => {
    const lines = fs.readFileSync(path.join(pipeline.dataDir, 'observed.log'), 'utf8').split('\n').filter(Boolean);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not JSON: ${line}`);
      }
    });
    const events = (event: string, source: string) =>
      entries.filter((e) => e.event === event && e.source === source).map((e) => e.path);
    assert.deepEqual(events('claimed', 'obs').sort(), ['f0.csv', 'f1.csv', 'f2.csv']);
    assert.deepEqual(events('downloaded', 'obs').sort(), ['f0.csv', 'f1.csv', 'f2.csv']);
    assert.deepEqual(events('processed', 'obs').sort(), ['f0.csv', 'f1.csv', 'f2.csv']);
    assert.deepEqual(events('committed', 'obs').sort(), ['f0.csv', 'f1.csv', 'f2.csv']);
    assert.deepEqual(events('rejected', 'poison'), ['bad.csv']);
    const committed = entries.find((e) => e.event === 'committed');
    for (const key of ['source', 'path', 'version', 'token', 'workflowId']) assert.ok(committed?.[key], key);
    const rejected = entries.find((e) => e.event === 'rejected');
    assert.match(String(rejected?.reason), /exited with 1/);
    const text = lines.join('\n');
    assert.doesNotMatch(text, /taskToken/);
    assert.doesNotMatch(text, /webpack|Workflow bundle created/i);
    // The polls' queue runs activities only, on purpose: the SDK's warning about it is no operator's concern.
    assert.ok(
      !entries.some((e) => e.level === 40 && e.msg === 'No workflows registered, not polling for workflow tasks'),
    );
    assert.doesNotMatch(text, /"error":\{\}/, 'errors keep their reason');
    assert.ok(
      entries.some((e) => e.msg === 'redis connection error'),
      'the Redis outage is a JSON line',
    );
  });
});
