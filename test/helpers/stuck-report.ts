// What a fault test prints about the files that did not finish: each one's ledger row, and its workflow's
// status, pending activities and last history events, so that a flaky failure names its cause the first time.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Ledger, LedgerRecord } from '../../src/ledger';

/** How many unfinished files are described in full, and how many of each one's last events. */
const DESCRIBED = 8;
const LAST_EVENTS = 14;

const EVENT_TYPES = temporal.api.enums.v1.EventType;

function row(record: LedgerRecord, now: number): string {
  const lease = record.leaseUntil === undefined ? '' : ` lease ${record.leaseUntil - now} ms from now`;
  return (
    `${record.status} tries ${record.tries} token ${record.token ?? '-'} owner ${record.owner ?? '-'}${lease}` +
    `${record.openRuns ? ` openRuns ${record.openRuns}` : ''}${record.error ? ` error ${JSON.stringify(record.error)}` : ''}` +
    ` workflow ${record.workflowId ?? '-'}`
  );
}

function millisOf(event: temporal.api.history.v1.IHistoryEvent): number {
  const time = event.eventTime;
  return time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

function eventLine(event: temporal.api.history.v1.IHistoryEvent, start: number): string {
  const at = millisOf(event);
  const name = (EVENT_TYPES[Number(event.eventType)] ?? String(event.eventType)).replace('EVENT_TYPE_', '');
  const marker = event.markerRecordedEventAttributes;
  const failure =
    marker?.failure?.message ??
    event.activityTaskFailedEventAttributes?.failure?.message ??
    event.workflowTaskFailedEventAttributes?.failure?.message ??
    (event.workflowTaskTimedOutEventAttributes
      ? `timeout type ${event.workflowTaskTimedOutEventAttributes.timeoutType}`
      : undefined);
  const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
  return `+${((at - start) / 1000).toFixed(1)}s ${name}${scheduled ? `(${scheduled})` : ''}${failure ? `: ${failure.slice(0, 160)}` : ''}`;
}

/** One workflow's status, pending activities and workflow task, and its last events with their times. */
export async function workflowStory(client: Client, workflowId: string): Promise<string[]> {
  const handle = client.workflow.getHandle(workflowId);
  const { raw, status } = await handle.describe();
  const lines = [`workflow ${status.name}, history length ${String(raw.workflowExecutionInfo?.historyLength ?? '?')}`];
  for (const pending of raw.pendingActivities ?? []) {
    lines.push(
      `pending ${pending.activityType?.name ?? '?'} state ${pending.state} attempt ${pending.attempt}` +
        ` last failure ${JSON.stringify(pending.lastFailure?.message ?? null)} worker ${pending.lastWorkerIdentity ?? '-'}`,
    );
  }
  if (raw.pendingWorkflowTask) {
    const task = raw.pendingWorkflowTask;
    lines.push(`pending workflow task state ${task.state} attempt ${task.attempt}`);
  }
  const events = (await handle.fetchHistory()).events ?? [];
  const start = events[0] ? millisOf(events[0]) : 0;
  for (const event of events.slice(-LAST_EVENTS)) lines.push(eventLine(event, start));
  return lines;
}

/** A multi-line report of the expected files that are not DONE: ledger rows and workflow stories. */
export async function stuckReport(
  ledger: Ledger,
  client: Client,
  sourceId: string,
  paths: Iterable<string>,
): Promise<string> {
  const now = Date.now();
  const lines: string[] = [];
  let described = 0;
  let notDone = 0;
  for (const path of paths) {
    const record = await ledger.get(sourceId, path).catch(() => undefined);
    if (record?.status === 'DONE') continue;
    notDone++;
    if (described >= DESCRIBED) continue;
    described++;
    lines.push(`${path}: ${record ? row(record, now) : 'no ledger row'}`);
    if (record?.workflowId) {
      const story = await workflowStory(client, record.workflowId).catch((err: unknown) => [
        `workflow: ${(err as Error).message}`,
      ]);
      lines.push(...story.map((line) => `    ${line}`));
    }
  }
  return `${notDone} files not DONE${notDone > described ? ` (first ${described} described)` : ''}\n${lines.join('\n')}`;
}

/**
 * Polls still open, with the children each one initiated that the server never started: a poll waiting on
 * them renews no lease and takes no lapsed claim over (the cause of files stuck IN_PROGRESS once).
 */
export async function openPollsReport(client: Client, taskQueue: string): Promise<string> {
  const lines: string[] = [];
  const query = `TaskQueue = '${taskQueue}' AND WorkflowType = 'pollWorkflow' AND ExecutionStatus = 'Running'`;
  for await (const execution of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const initiated = new Map<string, string>();
    const answered = new Set<string>();
    for (const event of history.events ?? []) {
      const start = event.startChildWorkflowExecutionInitiatedEventAttributes;
      if (start) initiated.set(String(event.eventId), start.workflowId ?? '?');
      const started = event.childWorkflowExecutionStartedEventAttributes?.initiatedEventId;
      const failed = event.startChildWorkflowExecutionFailedEventAttributes?.initiatedEventId;
      for (const id of [started, failed]) if (id !== undefined && id !== null) answered.add(String(id));
    }
    const waiting = [...initiated].filter(([id]) => !answered.has(id)).map(([, workflowId]) => workflowId);
    const age = ((Date.now() - execution.startTime.getTime()) / 1000).toFixed(0);
    lines.push(
      `open poll ${execution.workflowId} (${age} s): ${initiated.size} child starts, ${waiting.length} never answered` +
        (waiting.length > 0 ? `: ${waiting.slice(0, 5).join(', ')}` : ''),
    );
  }
  return lines.length > 0 ? lines.join('\n') : 'no open polls';
}
