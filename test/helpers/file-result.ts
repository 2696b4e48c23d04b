// The result of a file workflow whatever way it ended: a REJECTED file's workflow fails (type FileRejected)
// with its result as the failure's details.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, type FileWorkflowResult } from '../../src/shared/types';

export async function fileWorkflowResult(handle: WorkflowHandle): Promise<FileWorkflowResult> {
  try {
    return (await handle.result()) as FileWorkflowResult;
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === ErrorTypes.rejected) {
      return cause.details?.[0] as FileWorkflowResult;
    }
    throw err;
  }
}
