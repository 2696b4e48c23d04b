import {
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  ParentClosePolicy,
  TimeoutFailure,
} from '@temporalio/workflow';
import { idempotencyKeyOf, processorWorkflowId } from '../shared/ids';
import {
  ErrorTypes,
  Reasons,
  type ClaimedFile,
  type FilePlan,
  type ProcessorWorkflowPlan,
  type ProcessResult,
  type WorkflowProcessorInput,
} from '../shared/types';

/** A workflow processor's result is stored in the ledger and in history, like a processor's: keep it short. */
const MAX_RESULT_CHARS = 4_096;

/**
 * The process step when the source's processor is a workflow (a plugin's): runs it as a child workflow on the
 * task queue of the host that holds the local copy (`taskQueue`; undefined: the file workflow's own queue, for a
 * shared workDir) and returns its result as processFile would. The child lives inside this workflow (it is
 * terminated if this one ends), so the polls keep renewing the lease while it runs. Its failure follows a
 * processor's rules: an ApplicationFailure of type PermanentFileError rejects the file; anything else (another
 * failure, a timeout after processTimeout, a termination) fails this attempt, and the ledger decides whether the
 * file gets another one.
 */
export async function runWorkflowProcessor(
  file: ClaimedFile,
  plan: FilePlan & { processorWorkflow: ProcessorWorkflowPlan },
  localPath: string,
  taskQueue: string | undefined,
): Promise<ProcessResult> {
  const { name, options } = plan.processorWorkflow;
  const input: WorkflowProcessorInput = {
    file: { sourceId: file.sourceId, path: file.path, version: file.version, mtimeMs: file.mtimeMs, size: file.size },
    localPath,
    idempotencyKey: idempotencyKeyOf(file),
    token: file.token,
    options,
  };
  let result: unknown;
  try {
    result = await executeChild(name, {
      // From the claim (the file workflow's own id), so a replay under another id still issues the same command.
      workflowId: processorWorkflowId(file.workflowId),
      taskQueue,
      args: [input],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      workflowExecutionTimeout: plan.processTimeoutMs ?? plan.activityTimeoutMs,
    });
  } catch (err) {
    throw processorFailure(name, err);
  }
  const json = JSON.stringify(result ?? {});
  if (typeof result !== 'object' || result === null || Array.isArray(result) || json.length > MAX_RESULT_CHARS) {
    throw ApplicationFailure.nonRetryable(
      `workflow processor ${name} must return a JSON object of at most ${MAX_RESULT_CHARS} characters`,
      ErrorTypes.attemptFailed,
    );
  }
  return { processor: name, result: JSON.parse(json) as Record<string, unknown> };
}

/** The child's failure as the file workflow's rules read it: permanent → REJECTED, anything else → released. */
function processorFailure(name: string, err: unknown): ApplicationFailure {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === ErrorTypes.permanent) {
    return ApplicationFailure.nonRetryable(cause.message, ErrorTypes.permanent);
  }
  if (cause instanceof TimeoutFailure) {
    return ApplicationFailure.nonRetryable(
      `${Reasons.processTimeout}: workflow processor ${name} did not finish within processTimeout`,
      ErrorTypes.attemptFailed,
    );
  }
  return ApplicationFailure.nonRetryable(
    `workflow processor ${name} failed: ${messageChain(cause)}`,
    ErrorTypes.attemptFailed,
  );
}

/** "Activity task failed: <why>": a wrapper's message alone (an activity's, a child's) does not say what went wrong. */
function messageChain(err: unknown): string {
  if (!(err instanceof Error)) return JSON.stringify(err) ?? 'unknown error';
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error && messages.length < 4; e = e.cause) {
    if (e.message) messages.push(e.message);
  }
  return messages.join(': ');
}
