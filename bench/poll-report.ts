// BENCH_PROGRESS: what the backlog's polls did, read back from Temporal after the backlog drained.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { PollSummary } from '../src/shared/types';

/**
 * Prints each run of the source's polls (when it ran; rounds, waits for room, claims and starts: a run that
 * continued as new has no result), then how long each listing of the oldest run waited for a worker and ran.
 */
export async function printPolls(client: Client, sourceId: string): Promise<void> {
  const query = `WorkflowType = "pollWorkflow" AND FtpSource = "${sourceId}"`;
  const lines: string[] = [];
  let oldest: { workflowId: string; runId: string } | undefined;
  for await (const poll of client.workflow.list({ query })) {
    const handle = client.workflow.getHandle(poll.workflowId, poll.runId, { followRuns: false });
    const summary = (await handle.result().catch(() => undefined)) as PollSummary | undefined;
    const { rounds, roomWaits, claimed, started, startPending } = summary ?? {};
    const at = (d: Date | undefined): string => d?.toISOString().slice(11, 23) ?? '-';
    const counts = JSON.stringify({ rounds, roomWaits, claimed, started, startPending });
    lines.push(`poll ${at(poll.startTime)}–${at(poll.closeTime)} ${counts}`);
    oldest = poll; // listed newest first
  }
  for (const line of lines.sort()) console.log(line);
  if (!oldest) return;
  const events = (await client.workflow.getHandle(oldest.workflowId, oldest.runId).fetchHistory()).events ?? [];
  // Scheduled, started, completed: the listings of one poll run one after the other.
  const times = events
    .filter(
      (e) =>
        e.activityTaskScheduledEventAttributes ??
        e.activityTaskStartedEventAttributes ??
        e.activityTaskCompletedEventAttributes,
    )
    .map((e) => tsToMs(e.eventTime));
  const listings: string[] = [];
  for (let i = 0; i + 2 < times.length; i += 3) {
    listings.push(`${Math.round(times[i + 1]! - times[i]!)}+${Math.round(times[i + 2]! - times[i + 1]!)}`);
  }
  console.log(`listings of the oldest poll run (ms waiting+running): ${listings.join(' ')}; events ${events.length}`);
}
