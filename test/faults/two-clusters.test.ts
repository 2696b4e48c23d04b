// Fault scenario "two clusters": two Temporal deployments (each its own dev server, workers, schedule and
// clusterId) share one Redis ledger and one FTP server. Every file is committed exactly once overall; then
// cluster A is stopped whole mid-run, B takes A's files over once their leases expire, and A, started again
// on the same database, resumes its file workflows, whose stale tokens commit and move nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { LedgerRecord } from '../../src/ledger';
import { useClusters, type TestCluster } from '../helpers/clusters';
import { account, scaled, sha256 } from '../helpers/faults';
import { tempDir } from '../helpers/servers';
import { publishedFile } from '../helpers/published';

const SOURCE = 'shared';
const A = 'cluster-a';
const B = 'cluster-b';
const FIRST_BATCH = scaled(60, 300);
const SECOND_BATCH = scaled(60, 200);
const LEASE_MS = 8_000;

/** Like countingProcessor (one log line per run: path and token; result = sha-256), but takes `delay` s. */
function slowCountingProcessor(logFile: string, delaySeconds: number): Record<string, unknown> {
  const script = 'echo "$FTP_INGEST_PATH $FTP_INGEST_TOKEN" >> "$0"; sleep "$2"; sha256sum "$1" | cut -d " " -f 1';
  return {
    name: 'command',
    options: { command: ['sh', '-c', script, logFile, '{file}', String(delaySeconds)] },
  };
}

const logFile = path.join(tempDir('ftp-ingest-two-clusters-'), 'invocations.log');
const env = useClusters({
  clusters: [A, B],
  workersPerCluster: 2,
  // Two activity slots per worker: commits queue behind processors, so A can be stopped with one scheduled.
  configOverrides: { worker: { maxConcurrentActivities: 2 } },
  sources: [
    {
      id: SOURCE,
      processor: slowCountingProcessor(logFile, 0.3),
      // Small polls and a cap per cluster, so that neither cluster takes the whole listing in one poll.
      maxAcceptPerPoll: 4,
      maxInFlight: 8,
      retryTimeout: `${LEASE_MS / 1000}s`,
    },
  ],
});

const expected = new Map<string, string>();
let kills = 0;

function putBatch(prefix: string, count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(4, '0')}.csv`;
    const content = randomBytes(512 + ((i * 97) % 3_000));
    env.putRemote(SOURCE, name, content);
    expected.set(name, sha256(content));
    names.push(name);
  }
  return names;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function recordsOf(names: string[]): Promise<Map<string, LedgerRecord>> {
  const wanted = new Set(names);
  return new Map((await env.records(SOURCE)).filter((r) => wanted.has(r.path)).map((r) => [r.path, r]));
}

async function waitAllDone(names: string[], timeoutMs: number): Promise<Map<string, LedgerRecord>> {
  return waitFor(
    `${names.length} files DONE`,
    async () => {
      const records = await recordsOf(names);
      const done = [...records.values()].filter((r) => r.status === 'DONE').length;
      return done === names.length ? records : undefined;
    },
    timeoutMs,
  );
}

/** No file workflow of the cluster running, twice 3 s apart (a resumed poll may still start children). */
async function waitQuiet(cluster: TestCluster, timeoutMs: number): Promise<void> {
  try {
    await waitFor(
      `${cluster.clusterId} to have no running file workflow`,
      async () => {
        if ((await cluster.runningFileWorkflows()) > 0) return undefined;
        await sleep(3_000);
        return (await cluster.runningFileWorkflows()) === 0 ? true : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const running = await describeRunning(cluster);
    throw new Error(`${(err as Error).message}; still running:\n${running}\n${cluster.workerReport()}`);
  }
}

/** What each running file workflow of the cluster waits for (for a timeout's message). */
async function describeRunning(cluster: TestCluster): Promise<string> {
  const lines: string[] = [];
  for (const id of (await cluster.runningWorkflowIds('fileWorkflow')).slice(0, 10)) {
    const { raw } = await cluster.client.workflow.getHandle(id).describe();
    const pending = (raw.pendingActivities ?? []).map(
      (p) => `${p.activityType?.name} state=${p.state} attempt=${p.attempt} lastFailure=${p.lastFailure?.message}`,
    );
    lines.push(`${id}: ${pending.join('; ') || 'no pending activity'}`);
  }
  return lines.join('\n');
}

/** The activity a file workflow of the cluster waits for ('not started' when it does not exist yet). */
async function pendingActivity(cluster: TestCluster, workflowId: string): Promise<string> {
  try {
    const { raw } = await cluster.client.workflow.getHandle(workflowId).describe();
    return raw.pendingActivities?.[0]?.activityType?.name ?? 'none';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'not started';
    throw err;
  }
}

/** The activity whose failure ended a file workflow of the cluster (from its history). */
async function refusedBy(cluster: TestCluster, workflowId: string): Promise<string> {
  const history = await cluster.client.workflow.getHandle(workflowId).fetchHistory();
  const typeOf = new Map<string, string>();
  let failed = 'none';
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const failure = event.activityTaskFailedEventAttributes;
    if (failure) failed = typeOf.get(String(failure.scheduledEventId)) ?? '?';
  }
  return failed;
}

function countBy(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const has = (dir: string, name: string): boolean => fs.existsSync(publishedFile(dir, name));

describe('fault: two clusters share one ledger', { timeout: scaled(300_000, 1_200_000) }, () => {
  test('both clusters poll the same files: each committed exactly once overall', async (t) => {
    const [a, b] = [env.cluster(A), env.cluster(B)];
    const names = putBatch('first', FIRST_BATCH);
    const started = Date.now();
    await Promise.all([a.schedule(), b.schedule()]);
    const records = await waitAllDone(names, scaled(90_000, 400_000));
    const elapsed = Date.now() - started;
    await Promise.all([waitQuiet(a, 60_000), waitQuiet(b, 60_000)]);

    const byOwner = new Map<string, number>();
    for (const [name, record] of records) {
      byOwner.set(record.owner ?? '', (byOwner.get(record.owner ?? '') ?? 0) + 1);
      const [mine, other] = record.owner === A ? [a, b] : [b, a];
      assert.ok(record.owner === A || record.owner === B, `${name} owned by ${record.owner}`);
      assert.ok(has(mine.processedDir(SOURCE), name), `${name} is in ${mine.clusterId}'s processedDir`);
      assert.ok(!has(other.processedDir(SOURCE), name), `${name} is not in ${other.clusterId}'s processedDir`);
    }
    assert.equal(await env.ledger.commits(SOURCE), names.length, 'one commit per file');
    const split = `${A}=${byOwner.get(A) ?? 0} ${B}=${byOwner.get(B) ?? 0}`;
    t.diagnostic(`${names.length} files DONE in ${seconds(elapsed)} s; split ${split}`);
    assert.ok((byOwner.get(A) ?? 0) > 0 && (byOwner.get(B) ?? 0) > 0, `both clusters did some work (${split})`);
  });

  test('cluster A stopped whole mid-run: B takes over after the lease; A restarted commits nothing stale', async (t) => {
    const [a, b] = [env.cluster(A), env.cluster(B)];
    const names = putBatch('second', SECOND_BATCH);
    const started = Date.now();

    // Stop A mid-run: it holds claims of this batch (ledger owner = A) whose file workflows are under way, has
    // committed some of the batch, and, if it happens within a few seconds, has a commit waiting for an
    // activity slot (so that a stale token reaches the fenced commit after the restart). Commits are local
    // activities on a shared workDir, so that wait is short: the batch takes about 10 s, and A must be stopped
    // while it still holds claims.
    const commitDeadline = Date.now() + 2_000;
    let seen = 'nothing yet';
    await waitFor(
      `${A} to hold 3 claims with running file workflows and 2 commits`,
      async () => {
        const all = [...(await recordsOf(names)).values()];
        const records = all.filter((r) => r.owner === A);
        const held = records.filter((r) => r.status === 'IN_PROGRESS');
        seen = `batch ${JSON.stringify(Object.fromEntries(countBy(all.map((r) => `${r.owner}:${r.status}`))))}`;
        if (held.length < 3 || records.filter((r) => r.status === 'DONE').length < 2) return undefined;
        const stages = await Promise.all(held.map((r) => pendingActivity(a, r.workflowId ?? '')));
        seen += ` stages of ${A}'s held: ${stages.join(',')}`;
        if (stages.filter((stage) => stage !== 'not started').length < 3) return undefined;
        if (!stages.includes('commitFile') && Date.now() <= commitDeadline) return undefined;
        // Frozen, A can finish nothing more: go ahead only if it still holds claims (it may have just committed).
        a.freezeWorkers(true);
        const stillHeld = [...(await recordsOf(names)).values()].some(
          (r) => r.status === 'IN_PROGRESS' && r.owner === A,
        );
        if (!stillHeld) a.freezeWorkers(false);
        return stillHeld ? true : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; last seen: ${seen}`);
    });
    kills += await a.killWorkers();
    const stoppedAt = Date.now();
    // Taken once no worker of A is left: nothing of A can commit any more, so these are exactly A's stale
    // claims. A poll of A still open may hold claims whose file workflows it has not started yet.
    const openPolls = await a.runningWorkflowIds('pollWorkflow');
    const atStop = await recordsOf(names);
    const stale = [...atStop.values()].filter((r) => r.status === 'IN_PROGRESS' && r.owner === A);
    const stageAtStop = new Map<string, string>();
    for (const r of stale) stageAtStop.set(r.path, await pendingActivity(a, r.workflowId ?? ''));
    // Publish comes before the commit: a stale attempt may have left a copy in A's processedDir, one that the ledger
    // does not vouch for (removed when the attempt resumes superseded, checked below). Taken from the folder: a
    // publish in a local activity shows in the history only once its workflow task completes.
    const publishedByA = new Set(stale.filter((r) => has(a.processedDir(SOURCE), r.path)).map((r) => r.path));
    await a.stop();
    const doneByA = new Set(
      [...atStop.values()].filter((r) => r.status === 'DONE' && r.owner === A).map((r) => r.path),
    );
    assert.ok(stale.length > 0, 'A held claims when it was stopped');

    const records = await waitAllDone(names, scaled(90_000, 400_000));
    const allDoneAt = Date.now();
    await waitQuiet(b, 60_000);
    const takeoverDelays: number[] = [];
    for (const old of stale) {
      const now = records.get(old.path);
      assert.equal(now?.owner, B, `${old.path} was taken over by ${B}`);
      assert.ok((now?.token ?? 0) > (old.token ?? 0), `${old.path}: B's token ${now?.token} > A's stale ${old.token}`);
      assert.ok((now?.attempt ?? 0) > (old.attempt ?? 0), `${old.path}: a new claim attempt`);
      assert.ok(has(b.processedDir(SOURCE), old.path), `${old.path} in ${B}'s processedDir`);
      if (!publishedByA.has(old.path)) {
        assert.ok(
          !has(a.processedDir(SOURCE), old.path),
          `${old.path}: nothing new in ${A}'s processedDir after the stop`,
        );
      }
      // The new claim comes only after A's lease ran out (both times are Redis server time).
      assert.ok(
        (now?.lastTryAt ?? 0) >= (old.leaseUntil ?? 0),
        `${old.path} claimed again only after the lease expired`,
      );
      takeoverDelays.push((now?.lastTryAt ?? 0) - stoppedAt);
    }
    for (const [name, record] of records) {
      if (!doneByA.has(name)) assert.equal(record.owner, B, `${name}: not DONE at A's stop, so done by ${B}`);
    }
    assert.equal(await env.ledger.commits(SOURCE), FIRST_BATCH + SECOND_BATCH, 'one commit per file');

    // A again, on the same database: its file workflows resume with tokens that are no longer current.
    const logLinesBefore = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length;
    const restartedAt = Date.now();
    await a.start();
    // The polls open at the stop finish first (they start any children they still owe), then the children.
    for (const id of openPolls) await a.client.workflow.getHandle(id).result();
    const pollsClosedAt = Date.now();
    await waitQuiet(a, 120_000);
    const quietAt = Date.now();

    let commitsRefused = 0;
    const staleTokens = new Set(stale.map((r) => String(r.token)));
    const outcomes = new Map<string, number>();
    for (const old of stale) {
      const result = await a.fileResult(old.workflowId ?? '');
      // superseded (and which activity refused the stale token: download, process, commit or move), or never started
      const refused = result ? await refusedBy(a, old.workflowId ?? '') : '';
      const outcome = result ? `${result.outcome}@${refused}` : 'never started';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (result) assert.equal(result.outcome, 'superseded', `${old.workflowId} resumed on ${A} ends superseded`);
      if (stageAtStop.get(old.path) === 'commitFile') {
        assert.equal(refused, 'commitFile', `${old.path}: the fenced commit refused A's stale token`);
        commitsRefused++;
      }
      assert.ok(!has(a.processedDir(SOURCE), old.path), `${old.path}: nothing left in ${A}'s processedDir`);
      assert.equal((await env.ledger.get(SOURCE, old.path))?.owner, B, `${old.path} still B's commit`);
    }
    const newLines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).slice(logLinesBefore);
    const staleRuns = newLines.filter((line) => staleTokens.has(line.split(' ').pop() ?? ''));
    assert.deepEqual(staleRuns, [], 'no processor run with a stale token after the restart');
    assert.equal(await env.ledger.commits(SOURCE), FIRST_BATCH + SECOND_BATCH, 'no stale commit');
    const leftovers = stale.filter((r) => fs.existsSync(path.join(a.workDir(SOURCE), `attempt-${r.token ?? 0}`)));
    assert.deepEqual(
      leftovers.map((r) => r.path),
      [],
      `superseded attempts leave no local copy in ${A}'s workDir`,
    );

    t.diagnostic(
      `${names.length} files; ${A} stopped after ${seconds(stoppedAt - started)} s holding ${stale.length} claims ` +
        `(${publishedByA.size} of them published; ${doneByA.size} already DONE by ${A}); ${B} took them over ${seconds(Math.min(...takeoverDelays))}-` +
        `${seconds(Math.max(...takeoverDelays))} s after the stop (lease ${seconds(LEASE_MS)} s); all DONE ` +
        `${seconds(allDoneAt - stoppedAt)} s after the stop; ${A} restarted: ${openPolls.length} open polls closed in ` +
        `${seconds(pollsClosedAt - restartedAt)} s, quiet in ${seconds(quietAt - restartedAt)} s; stale attempts: ${[...outcomes].map(([k, v]) => `${k}=${v}`).join(' ')}; ` +
        `stages at stop: ${[...countBy(stageAtStop.values())].map(([k, v]) => `${k}=${v}`).join(' ')}; ` +
        `stale commits refused by the fence ${commitsRefused}, committed 0; attempt folders left in ${A}'s workDir: ${leftovers.length}`,
    );

    await account({
      scenario: 'two-clusters',
      ledger: env.ledger,
      sourceId: SOURCE,
      expected,
      processedDir: [a.processedDir(SOURCE), b.processedDir(SOURCE)],
      invocationsLog: logFile,
      kills,
    });
  });
});
