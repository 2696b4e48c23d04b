import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { ErrorTypes, type FilePlan } from '../shared/types';

const nonRetryableErrorTypes = Object.values(ErrorTypes);

/** Lower bound of a short activity's start-to-close timeout. */
const SHORT_ACTIVITY_MIN_TIMEOUT_MS = 5_000;

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

/**
 * Short ledger and file-system steps: retried until they succeed, fail closed while Redis is away. They do not
 * heartbeat, so the start-to-close timeout is how long a run on a killed worker goes unnoticed: keep it about a
 * heartbeat timeout (at least 5 s), so that, like the long activities, a retry comes within the lease rule
 * (retryTimeout > heartbeatTimeout + activityMaxInterval + 5 s) instead of after the lease expired. A run that
 * is merely slow and times out is harmless: commit, move and release are idempotent for their token.
 */
export function shortActivityOptions(plan: FilePlan, taskQueue?: string): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: Math.max(plan.heartbeatTimeoutMs, SHORT_ACTIVITY_MIN_TIMEOUT_MS),
    scheduleToStartTimeout: taskQueue ? plan.heartbeatTimeoutMs * 3 : undefined,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: plan.activityMaxIntervalMs,
      nonRetryableErrorTypes,
    },
  };
}

/** processFile: a long activity whose run is bounded by the source's processTimeout (plus a margin). */
export function processActivityOptions(plan: FilePlan, taskQueue?: string): ActivityOptions {
  const options = longActivityOptions(plan, taskQueue);
  if (plan.processTimeoutMs === undefined) return options;
  // The activity stops its processor at processTimeout itself; this only catches a run that cannot even do that.
  return { ...options, startToCloseTimeout: plan.processTimeoutMs + Math.max(plan.heartbeatTimeoutMs, 60_000) };
}

/**
 * finishRemoteAction: retried while the FTP server is away, but not forever: after about a lease length the
 * ledger's deadline hands the action to the polls.
 */
export function remoteActionOptions(plan: FilePlan): ActivityOptions {
  return { ...shortActivityOptions(plan), scheduleToCloseTimeout: Math.max(plan.activityMaxIntervalMs * 6, 60_000) };
}

/**
 * The short steps as local activities (publish on a shared workDir, commit, release): same timeout and retries
 * as shortActivityOptions, but run by the worker that runs the workflow task, recorded as one marker each and
 * with no activity task or workflow task of their own. A worker killed during one: the workflow task times out,
 * another worker replays and runs the step again (each is idempotent for its token).
 */
export function localShortActivityOptions(plan: FilePlan): LocalActivityOptions {
  const options = shortActivityOptions(plan);
  return { startToCloseTimeout: options.startToCloseTimeout, retry: options.retry };
}

/** finishRemoteAction as a local activity: bounded like remoteActionOptions; the ledger owes it after that. */
export function localRemoteActionOptions(plan: FilePlan): LocalActivityOptions {
  const options = remoteActionOptions(plan);
  return {
    startToCloseTimeout: options.startToCloseTimeout,
    scheduleToCloseTimeout: options.scheduleToCloseTimeout,
    retry: options.retry,
  };
}

/** Retry backoffs of the fast path's local activity up to this are slept in the worker; longer ones are timers. */
const LOCAL_RETRY_THRESHOLD_MS = 5_000;

/**
 * The small-file fast path's one local activity (download → process → publish): bounded like a process run
 * (processTimeout plus the same margin, which also covers a small download), retried like the download. A
 * backoff over 5 s (the FTP server or Redis away for a while) waits as a workflow timer (localRetryThreshold)
 * instead of holding the workflow task open. A worker killed during it loses the workflow task: after the
 * workflow task timeout another worker replays and runs the activity again from the start.
 */
export function smallFileOptions(plan: FilePlan): LocalActivityOptions {
  const options = processActivityOptions(plan);
  return {
    startToCloseTimeout: options.startToCloseTimeout,
    retry: options.retry,
    localRetryThreshold: LOCAL_RETRY_THRESHOLD_MS,
  };
}
