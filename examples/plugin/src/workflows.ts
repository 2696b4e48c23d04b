// Workflow code: bundled into the worker's workflow sandbox with ftp-ingest's own workflows. Deterministic, no
// I/O, no Node modules: only @temporalio/workflow, ftp-ingest/workflow, and types.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import { PERMANENT_FILE_ERROR, permanentFileError, type WorkflowProcessorInput } from 'ftp-ingest/workflow';
import type { ReviewActivities, Summary } from './activities';

export interface ReviewOptions {
  /** Where approved files are delivered. */
  outDir: string;
  /** How long to wait for a decision ("30m", or ms; default 1h). Then the attempt fails: the file is released. */
  approvalTimeout?: string | number;
}

export interface Decision {
  approved: boolean;
  /** Who decided (shown in the result and the error). */
  by?: string;
  reason?: string;
}

export interface ReviewStatus {
  stage: 'summarizing' | 'waiting-for-approval' | 'delivering';
  summary?: Summary;
}

export interface ReviewResult {
  lines: number;
  approvedBy: string;
  delivered: string;
}

/** Signal `decision` with `{ "approved": true, "by": "ann" }` (or `approved: false` to reject the file). */
export const decisionSignal = defineSignal<[Decision]>('decision');
export const statusQuery = defineQuery<ReviewStatus>('status');

/** The approval failed to come in time. Not permanent: the file is released and asked about again later. */
export const APPROVAL_TIMEOUT = 'ApprovalTimeout';

/**
 * A workflow processor: summarize (step 1), wait for a reviewer's decision signal, deliver (step 2). Approved →
 * the file is published and committed (DONE); rejected by the reviewer → REJECTED at once; no decision within
 * `approvalTimeout` → this attempt fails, the file waits retryTimeout and is asked about again (REJECTED after
 * maxTries).
 */
export async function review(input: WorkflowProcessorInput<ReviewOptions>): Promise<ReviewResult> {
  const { summarize, deliver } = proxyActivities<ReviewActivities>({
    startToCloseTimeout: '5m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: [PERMANENT_FILE_ERROR] },
  });
  const status: ReviewStatus = { stage: 'summarizing' };
  let decision: Decision | undefined;
  setHandler(statusQuery, () => status);
  setHandler(decisionSignal, (d) => {
    decision ??= d; // the first decision counts
  });

  status.summary = await summarize({ localPath: input.localPath });
  status.stage = 'waiting-for-approval';
  const timeout = input.options.approvalTimeout ?? '1h';
  if (!(await condition(() => decision !== undefined, timeout))) {
    throw ApplicationFailure.nonRetryable(`no decision within ${String(timeout)}`, APPROVAL_TIMEOUT);
  }
  const { approved, by = 'someone', reason = 'no reason given' } = decision!;
  if (!approved) throw permanentFileError(`rejected by ${by}: ${reason}`);

  status.stage = 'delivering';
  const delivered = await deliver({
    localPath: input.localPath,
    idempotencyKey: input.idempotencyKey,
    token: input.token,
    outDir: input.options.outDir,
  });
  return { lines: status.summary.lines, approvedBy: by, delivered: delivered.name };
}
