// BENCH_PROGRESS: what the backlog's polls did, read back from Temporal after the backlog drained.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { PollSummary } from '../src/shared/types';

/** A listing that ran longer than this (a fresh one, not a round from the kept listing) is printed. */
const SLOW_LISTING_MS = 1_000;

/**
 * Prints each run of the source's polls: when it ran; rounds, waits for room, claims and starts (a run that
 * continued as new has no result); how many listings it ran, how long they waited for a worker at most, and each
 * listing that ran longer than SLOW_LISTING_MS (the fresh listings: a round from the kept listing takes ~0.1 s).
 */
export async function printPolls(client: Client, sourceId: string): Promise<void> {
  const query = `WorkflowType = "pollWorkflow" AND FtpSource = "${sourceId}"`;
  const lines: string[] = [];
  for await (const poll of client.workflow.list({ query })) {
    const handle = client.workflow.getHandle(poll.workflowId, poll.runId, { followRuns: false });
    const summary = (await handle.result().catch(() => undefined)) as PollSummary | undefined;
    const { rounds, roomWaits, claimed, started, startPending } = summary ?? {};
    const at = (d: Date | undefined): string => d?.toISOString().slice(11, 23) ?? '-';
    const counts = JSON.stringify({ rounds, roomWaits, claimed, started, startPending });
    const listings = await listingTimes(client, poll);
    const maxWait = Math.max(0, ...listings.map(([wait]) => wait));
    const slow = listings.filter(([, run]) => run > SLOW_LISTING_MS).map(([, run]) => run);
    const timing = `listings ${listings.length}, waited ≤${maxWait} ms, ran >1 s: [${slow.join(', ')}] ms`;
    lines.push(`poll ${at(poll.startTime)}–${at(poll.closeTime)} ${counts} ${timing}`);
  }
  for (const line of lines.sort()) console.log(line);
}

/** How long each listing of one poll run waited for a worker and ran (ms): scheduled, started, completed. */
async function listingTimes(client: Client, run: { workflowId: string; runId: string }): Promise<[number, number][]> {
  const events = (await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
  const times = events
    .filter(
      (e) =>
        e.activityTaskScheduledEventAttributes ??
        e.activityTaskStartedEventAttributes ??
        e.activityTaskCompletedEventAttributes,
    )
    .map((e) => tsToMs(e.eventTime));
  const listings: [number, number][] = [];
  for (let i = 0; i + 2 < times.length; i += 3) {
    listings.push([Math.round(times[i + 1]! - times[i]!), Math.round(times[i + 2]! - times[i + 1]!)]);
  }
  return listings;
}
