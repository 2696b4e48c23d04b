// Every recorded history (test/fixtures/histories, made by scripts/record-histories.ts) must replay against
// the current workflow code: a change that breaks determinism for runs in flight fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PATCH_LEVEL } from '../src/shared/patch-level';

const dir = path.join(__dirname, 'fixtures', 'histories');
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

/**
 * Histories recorded by the release before patch levels: each records the markers of the patches its runs took.
 * A plan of this release can reach a worker of that release during a rolling deploy; its run then has those
 * markers, and must still replay on this release, which takes the same patches without markers.
 */
const PREVIOUS_RELEASE = [
  'file-workflow-done-cheap-steps.json',
  'file-workflow-released-cheap-steps.json',
  'file-workflow-remote-action.json',
  'file-workflow-workflow-processor-cheap-steps.json',
  'file-workflow-fast-path-one-marker.json',
  'poll-workflow-room-deadline-from-now.json',
];

Runtime.install({ logger: new DefaultLogger('ERROR') });

async function assertReplays(histories: { workflowId: string; history: unknown }[]): Promise<void> {
  const results = Worker.runReplayHistories({ workflowsPath: require.resolve('../src/workflows') }, histories);
  let replayed = 0;
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, histories.length);
}

function readHistory(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown;
}

test('recorded histories of both workflows replay against the current code', async () => {
  assert.ok(
    fixtures.some((f) => f.startsWith('poll-workflow')),
    'a poll workflow history is recorded',
  );
  assert.ok(
    fixtures.some((f) => f.startsWith('file-workflow')),
    'a file workflow history is recorded',
  );
  await assertReplays(fixtures.map((file) => ({ workflowId: file, history: readHistory(file) })));
});

test('runs with a patch level record no patch marker', () => {
  for (const file of fixtures.filter((f) => f.includes('patch-level') || f.includes('no-marker'))) {
    const markers = patchMarkers(readHistory(file));
    // A poll whose input has no level (a Schedule made by an earlier release) decides its first patch, before its
    // first listing brings a plan, by its marker.
    const expected = file.startsWith('poll-workflow') && file.includes('patch-level') ? ['poll-task-queue'] : [];
    assert.deepEqual(markers, expected, file);
  }
});

test('a plan with a patch level that a worker of the previous release ran (with markers) replays', async () => {
  const histories = PREVIOUS_RELEASE.map((file) => {
    const history = readHistory(file);
    assert.ok(patchMarkers(history).length > 0, `${file} records patch markers`);
    assert.ok(withPatchLevel(history) > 0, `${file} has a plan`);
    return { workflowId: `${file} with patch level ${PATCH_LEVEL}`, history };
  });
  await assertReplays(histories);
});

interface Payload {
  data?: string;
}

/** The ids of the patch markers of a history (the CLI's JSON). */
function patchMarkers(history: unknown): string[] {
  const { events } = history as { events: { markerRecordedEventAttributes?: Record<string, unknown> }[] };
  return events.flatMap(({ markerRecordedEventAttributes: marker }) => {
    if (marker?.markerName !== 'core_patch') return [];
    const details = marker.details as Record<string, { payloads: Payload[] }>;
    const data = Object.values(details)[0]?.payloads[0]?.data ?? '';
    return [(JSON.parse(Buffer.from(data, 'base64').toString()) as { id: string }).id];
  });
}

/**
 * Gives the plans in the history (the file workflow's input, the poll's listing results) and a poll's input this
 * release's patch level, as if this release had made them; returns how many plans it changed.
 */
function withPatchLevel(history: unknown): number {
  type Value = { plan?: Record<string, unknown>; sourceId?: string; patchLevel?: number };
  interface Event {
    workflowExecutionStartedEventAttributes?: { input?: { payloads?: Payload[] } };
    activityTaskCompletedEventAttributes?: { result?: { payloads?: Payload[] } };
  }
  let plans = 0;
  const rewrite = (payload: Payload | undefined, change: (value: Value) => boolean): void => {
    if (!payload?.data) return;
    const value = JSON.parse(Buffer.from(payload.data, 'base64').toString()) as Value;
    if (change(value)) payload.data = Buffer.from(JSON.stringify(value)).toString('base64');
  };
  const levelPlan = (value: Value): boolean => {
    if (!value.plan) return false;
    value.plan.patchLevel = PATCH_LEVEL;
    plans++;
    return true;
  };
  for (const event of (history as { events: Event[] }).events) {
    rewrite(event.workflowExecutionStartedEventAttributes?.input?.payloads?.[0], (value) => {
      if (levelPlan(value)) return true;
      value.patchLevel = PATCH_LEVEL; // a poll's input
      return true;
    });
    rewrite(event.activityTaskCompletedEventAttributes?.result?.payloads?.[0], levelPlan);
  }
  return plans;
}
