import {
  CancellationScope,
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  sleep,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PollActivities } from '../activities';
import { fileWorkflow } from './file';
import { applies } from './patches';
import { FTP_KIND, FTP_PATH, FTP_SOURCE, FTP_STAGE } from '../shared/search-attributes';
import { pollTaskQueue } from '../shared/ids';
import type { ClaimedFile, FilePlan, PollSummary, PollWorkflowInput } from '../shared/types';

// listAndClaim heartbeats every second: a poll on a killed worker moves on within 4 s (the schedule skips new
// polls of the source while one is open). The poll renews the leases of its cluster's files waiting for a
// worker, so this gap must stay well inside the lease rule's margin (retryTimeout > pollInterval + 5 s). A poll that cannot list fails in bounded time with its reason (the
// activity gives up after a few tries of a server that is away, at once on a refused login); a worker killed
// under it is retried, within a backstop of 10 minutes.
const listingOptions = {
  startToCloseTimeout: '10m',
  scheduleToCloseTimeout: '10m',
  heartbeatTimeout: '4s',
  retry: { initialInterval: '200ms', maximumInterval: '5s' },
} as const;

/**
 * The listing activity, on the polls' own task queue (pollTaskQueue): behind a backlog's queued downloads it
 * would wait for an activity slot while the files in flight ran out. Runs recorded before this change list on
 * the workflow's task queue.
 */
function listingActivity(patchLevel: number | undefined): PollActivities['listAndClaim'] {
  const taskQueue = applies(patchLevel, POLL_QUEUE) ? pollTaskQueue(workflowInfo().taskQueue) : undefined;
  return proxyActivities<PollActivities>({ ...listingOptions, ...(taskQueue ? { taskQueue } : {}) }).listAndClaim;
}

const POLL_QUEUE = 'poll-task-queue';

/**
 * One poll of one source, started by its Schedule: list and claim in one activity, then start one file
 * workflow per claimed file and return. Children are abandoned: they outlive this short run. A listing that
 * claimed maxAcceptPerPoll files lists and claims again at once (a backlog drains at the pipeline's speed, not
 * at maxAcceptPerPoll per pollInterval), until a listing claims fewer: nothing left, or the cluster's maxInFlight
 * reached (then it waits for room, below). A poll that finds nothing new stays one listing.
 */
export async function pollWorkflow(input: PollWorkflowInput): Promise<PollSummary> {
  const { sourceId } = input;
  const { runId, firstExecutionRunId: pollId } = workflowInfo();
  const listAndClaim = listingActivity(input.patchLevel);
  const startedAt = Date.now();
  let waitMs = ROOM_WAIT_FIRST_MS;
  let summary: PollSummary | undefined;
  for (let round = 1; ; round++) {
    // Each listing is its own poll run for the ledger: a retried listing gets its own claims back, and a later
    // listing of this run skips the files the earlier ones claimed.
    const pollRun = round === 1 ? runId : `${runId}/${round}`;
    const { claims, plan, maxAcceptPerPoll, roomWaitMs, ...counts } = await listAndClaim({ sourceId, pollRun, pollId });
    const outcomes = applies(plan.patchLevel, PARALLEL_CHILD_STARTS)
      ? applies(plan.patchLevel, BOUNDED_CHILD_STARTS)
        ? await startAllWithin(claims, plan, CHILD_START_WAIT_MS)
        : await Promise.all(claims.map((file) => startFileWorkflow(file, plan)))
      : await startOneByOne(claims, plan);
    const started = outcomes.filter((o) => o === true).length;
    const startPending = outcomes.filter((o) => o === undefined).length;
    summary = addRound(summary, {
      sourceId,
      ...counts,
      claimed: claims.length,
      started,
      alreadyStarted: claims.length - started - startPending,
      ...(startPending > 0 ? { startPending } : {}),
    });
    const atCap = maxAcceptPerPoll !== undefined && claims.length > 0 && claims.length >= maxAcceptPerPoll;
    if (atCap) {
      if (!applies(plan.patchLevel, CLAIM_AGAIN_AT_CAP)) return summary;
    } else {
      // The cluster is at maxInFlight with files left: claim again once some finish, until the next poll is due.
      if (roomWaitMs === undefined) return summary;
      waitMs = claims.length > 0 ? ROOM_WAIT_FIRST_MS : Math.min(waitMs * 2, ROOM_WAIT_MAX_MS);
      const nextPoll = nextScheduledPoll(
        applies(plan.patchLevel, DEADLINE_FROM_NOW) ? Date.now() : startedAt,
        roomWaitMs,
      );
      if (Date.now() + waitMs > nextPoll - ROOM_WAIT_MARGIN_MS) return summary;
      if (!applies(plan.patchLevel, WAIT_FOR_ROOM)) return summary;
      await sleep(waitMs);
      summary.roomWaits = (summary.roomWaits ?? 0) + 1;
    }
    summary.rounds = round;
    const info = workflowInfo();
    // Each listing adds about 2 events per claim: keep the history far below Temporal's 10k-event warning.
    if (info.continueAsNewSuggested || info.historyLength > MAX_POLL_HISTORY_EVENTS) {
      await continueAsNew<typeof pollWorkflow>(input);
    }
  }
}

/**
 * A poll whose listing claimed maxAcceptPerPoll files lists and claims again in the same run. Runs recorded
 * before this change (their listings did not report the cap) return after one listing.
 */
const CLAIM_AGAIN_AT_CAP = 'claim-again-at-cap';

/**
 * A poll whose listing left files unclaimed only because this cluster has maxInFlight files of the source in
 * progress waits for room and claims again (from the same listing), until shortly before the next poll. A
 * backlog then drains with a few hundred files in flight, which the worker's workflow cache holds, instead of
 * needing thousands in flight to bridge the gap until the next poll. Runs recorded before this change return.
 */
const WAIT_FOR_ROOM = 'wait-for-in-flight-room';

/**
 * Rounds at the cap do not look at the clock, so a poll in a backlog may run past Schedule times (each skipped).
 * When it then finds the cluster at maxInFlight, the poll to leave time for is the Schedule's next after now:
 * measured from its start, the deadline had passed, and the poll returned at once, leaving the source with no
 * claims until that next time. Runs recorded before this change measure from their start.
 */
const DEADLINE_FROM_NOW = 'room-wait-deadline-from-now';

/** Time kept free before the next scheduled poll (a poll still open when it is due makes it skip). */
const ROOM_WAIT_MARGIN_MS = 2_000;

/**
 * When the source's Schedule starts its first poll after `time`: its spec is an interval with no offset and no
 * jitter (starter/schedules.ts), so its times are the multiples of the poll interval since the epoch. A poll
 * started at another time (a trigger, the CLI's poll) still stops waiting before that time.
 */
function nextScheduledPoll(time: number, pollIntervalMs: number): number {
  return (Math.floor(time / pollIntervalMs) + 1) * pollIntervalMs;
}

/** The wait between rounds at maxInFlight: short while files finish, doubling up to the longest while none do. */
const ROOM_WAIT_FIRST_MS = 1_000;
const ROOM_WAIT_MAX_MS = 8_000;

/** History length past which a poll that still claims at its cap continues as a new run. */
const MAX_POLL_HISTORY_EVENTS = 4_000;

/** The run's summary: the counters of its listings added up (listed, filtered and skipped: the last listing's). */
function addRound(summary: PollSummary | undefined, next: PollSummary): PollSummary {
  if (!summary) return next;
  const remoteActions = (summary.remoteActions ?? 0) + (next.remoteActions ?? 0);
  const startPending = (summary.startPending ?? 0) + (next.startPending ?? 0);
  return {
    ...summary,
    listed: next.listed,
    filteredOut: next.filteredOut,
    skipped: next.skipped,
    rejected: summary.rejected + next.rejected,
    ...(remoteActions > 0 ? { remoteActions } : {}),
    ...(startPending > 0 ? { startPending } : {}),
    claimed: summary.claimed + next.claimed,
    started: summary.started + next.started,
    alreadyStarted: summary.alreadyStarted + next.alreadyStarted,
  };
}

/**
 * A child start the server never carries out (seen on a loaded dev server: the start initiated, no child, no
 * failure) must not hold the poll open: the Schedule skips new polls while one is open, so the source would
 * stop being polled, no lease would be renewed and no lapsed claim taken over. After this wait the poll
 * returns; a claim whose child never starts is taken over by a later poll once its lease lapses (fenced).
 * Polls recorded before this change wait for every start.
 */
const BOUNDED_CHILD_STARTS = 'bounded-child-starts';
const CHILD_START_WAIT_MS = 30_000;

/** The starts' outcomes (undefined: not started within `waitMs`); the timer is cancelled when all are done. */
async function startAllWithin(claims: ClaimedFile[], plan: FilePlan, waitMs: number): Promise<(boolean | undefined)[]> {
  const outcomes: (boolean | undefined)[] = claims.map(() => undefined);
  if (claims.length === 0) return outcomes;
  const all = Promise.all(
    claims.map(async (file, i) => {
      outcomes[i] = await startFileWorkflow(file, plan);
    }),
  );
  const timer = new CancellationScope();
  const waited = timer.run(() => sleep(waitMs)).catch(() => undefined);
  try {
    await Promise.race([all, waited]);
  } finally {
    timer.cancel();
  }
  return [...outcomes];
}

/**
 * Starting all children in one workflow task keeps a poll of 1,000 claims near 3,000 history events; one by
 * one, each start cost a workflow task of its own. Polls recorded before this change replay the old way.
 */
const PARALLEL_CHILD_STARTS = 'parallel-child-starts';

async function startOneByOne(claims: ClaimedFile[], plan: FilePlan): Promise<boolean[]> {
  const outcomes: boolean[] = [];
  for (const file of claims) outcomes.push(await startFileWorkflow(file, plan));
  return outcomes;
}

/** Starts the file workflow of a claim attempt; false when it already exists (a retried poll). */
async function startFileWorkflow(file: ClaimedFile, plan: FilePlan): Promise<boolean> {
  try {
    await startChild(fileWorkflow, {
      workflowId: file.workflowId,
      args: [{ file, plan }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: fileSummary(file),
      staticDetails: fileDetails(file, plan),
      typedSearchAttributes: [
        { key: FTP_KIND, value: 'file' },
        { key: FTP_SOURCE, value: file.sourceId },
        { key: FTP_PATH, value: file.path },
        { key: FTP_STAGE, value: 'download' },
      ],
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** The Web UI's one-line summary of a file workflow: which file, which version, which attempt. */
function fileSummary(file: ClaimedFile): string {
  return `${file.sourceId}: ${file.path} (${file.size} bytes, modified ${new Date(file.mtimeMs).toISOString()}), try ${file.tries}`;
}

function fileDetails(file: ClaimedFile, plan: FilePlan): string {
  return [
    `**Source** ${file.sourceId}`,
    `**Path** ${file.path}`,
    `**Version** ${file.version} (modified ${new Date(file.mtimeMs).toISOString()}, ${file.size} bytes)`,
    `**Attempt** ${file.attempt} (try ${file.tries}), fencing token ${file.token}`,
    `**Local copy** ${plan.sharedWorkDir ? 'shared workDir' : 'on the downloading host'}`,
  ].join('\n\n');
}
