import type { ActivityOptions } from '@temporalio/workflow';
import { ErrorTypes, type FilePlan } from './types';

const nonRetryableErrorTypes = Object.values(ErrorTypes);

/**
 * Long activities (download, process): short heartbeat timeout so a killed worker's attempt moves to another
 * worker quickly; unlimited retries, because the activities themselves turn a hopeless failure into a
 * non-retryable one (transient FTP errors such as 421 must never count against the file).
 */
export function longActivityOptions(plan: FilePlan, taskQueue?: string): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: plan.activityTimeoutMs,
    heartbeatTimeout: plan.heartbeatTimeoutMs,
    // A host-specific queue with no worker means the host (and its local copy) is gone: start over elsewhere.
    scheduleToStartTimeout: taskQueue ? plan.heartbeatTimeoutMs * 3 : undefined,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: plan.activityMaxIntervalMs,
      nonRetryableErrorTypes,
    },
  };
}

/** Short ledger and file-system steps: retried until they succeed, fail closed while Redis is away. */
export function shortActivityOptions(plan: FilePlan, taskQueue?: string): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: '1m',
    scheduleToStartTimeout: taskQueue ? plan.heartbeatTimeoutMs * 3 : undefined,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: plan.activityMaxIntervalMs,
      nonRetryableErrorTypes,
    },
  };
}
