import {
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PollActivities } from '../activities';
import { fileWorkflow } from './file';
import { FTP_KIND, FTP_PATH, FTP_SOURCE, FTP_STAGE } from '../shared/search-attributes';
import type { ClaimedFile, FilePlan, PollSummary, PollWorkflowInput } from '../shared/types';

// listAndClaim heartbeats every 2 s: a poll on a killed worker moves on within 10 s (the schedule skips new
// polls of the source while one is open). A few tries at most: a poll that cannot list (server away, bad login)
// fails in bounded time with its reason, and the next scheduled poll tries again.
const { listAndClaim } = proxyActivities<PollActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 4 },
});

/**
 * One poll of one source, started by its Schedule: list and claim in one activity, then start one file
 * workflow per claimed file and return. Children are abandoned: they outlive this short run.
 */
export async function pollWorkflow({ sourceId }: PollWorkflowInput): Promise<PollSummary> {
  const { claims, plan, ...counts } = await listAndClaim({ sourceId, pollRun: workflowInfo().runId });
  const outcomes = patched(PARALLEL_CHILD_STARTS)
    ? await Promise.all(claims.map((file) => startFileWorkflow(file, plan)))
    : await startOneByOne(claims, plan);
  const started = outcomes.filter(Boolean).length;
  return { sourceId, ...counts, claimed: claims.length, started, alreadyStarted: claims.length - started };
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
