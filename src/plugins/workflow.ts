// The public API for a plugin's workflow code (`ftp-ingest/workflow`): bundled into the workflow sandbox, so it
// imports only @temporalio/workflow and pure code — never Node modules.
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../shared/types';

export type { WorkflowProcessorInput } from '../shared/types';
export type { AnyWorkflowProcessor, WorkflowProcessor } from './define';

/** The failure type that rejects a file at once (no more tries), from a processor or a workflow processor. */
export const PERMANENT_FILE_ERROR = ErrorTypes.permanent;

/**
 * Throw it from a workflow processor (or its activities) for input that can never succeed: the file ends
 * REJECTED at once. Any other failure of the workflow ends the attempt; the file gets another one until maxTries.
 */
export function permanentFileError(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorTypes.permanent, ...(details === undefined ? [] : [details]));
}
