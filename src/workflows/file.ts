import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { FileActivities } from '../activities';
import { FTP_STAGE } from '../shared/search-attributes';
import {
  ErrorTypes,
  type DownloadedFile,
  type FileOutcome,
  type FileWorkflowInput,
  type FileWorkflowResult,
  type ProcessResult,
} from '../shared/types';
import {
  localRemoteActionOptions,
  localShortActivityOptions,
  longActivityOptions,
  processActivityOptions,
  remoteActionOptions,
  shortActivityOptions,
  smallFileOptions,
} from './activity-options';
import { applies } from './patches';
import { runWorkflowProcessor } from './workflow-processor';

/**
 * A superseded attempt calls releaseFile (DESIGN.md, departures) so that its downloaded copy does not stay in
 * workDir. Runs recorded before this change ended without it and replay that way.
 */
const RELEASE_SUPERSEDED = 'release-superseded';

/**
 * The output is published into processedDir on the host that holds it, before the fenced commit, so that a
 * host or cluster lost after the commit loses nothing; the remote action runs after the commit on any worker.
 * Runs recorded before this change commit, then move on the host, and replay that way.
 */
const PUBLISH_BEFORE_COMMIT = 'publish-before-commit';

/** A REJECTED file's workflow fails (the Web UI's Failures view lists exactly the rejected files). */
const REJECTED_FAILS = 'rejected-fails';

/**
 * A source may name a plugin's workflow as its processor (plan.processorWorkflow): it runs as a child workflow
 * in the process step. Only plans that name one take the branch; runs recorded before it replay as they were.
 */
const WORKFLOW_PROCESSOR = 'workflow-processor';

/**
 * Cheaper steps (docs/PERFORMANCE.md): the short steps — publish on a shared workDir, commit, the remote action,
 * release — run as local activities in the workflow task that follows processing (a marker each, no activity
 * task, no workflow task of their own), and a stage is upserted only when it changes what one can see: the child
 * starts with FtpStage=download, and a step that runs inside the same workflow task as the next one gets no
 * stage of its own. Publish on a host's own workDir stays an activity on that host's queue. Runs recorded before
 * this change replay as they were.
 */
const CHEAP_STEPS = 'cheap-file-steps';

/**
 * The small-file fast path (plan.smallFileMaxBytes): a file up to that size, with an activity processor, is
 * downloaded, processed and published by one local activity, then committed: one workflow task per file. Only
 * plans that set it take the branch; runs recorded before it replay as they were.
 */
const SMALL_FILE_FAST_PATH = 'small-file-fast-path';

/**
 * One marker for a small file's run: each patch a new run records costs two history events (the marker and the
 * SDK's TemporalChangeVersion upsert, a visibility write), and the fast path recorded two (CHEAP_STEPS and
 * SMALL_FILE_FAST_PATH) in a history of 13 events. A run with this marker takes both. Runs recorded before it
 * replay with the two markers they have.
 */
const ONE_MARKER_FAST_PATH = 'one-marker-fast-path';

/** Times the file may start over from download because the host holding its local copy vanished. */
const MAX_HOST_LOSSES = 3;

/**
 * One claim attempt of one file version: download → process → publish → commit (fenced) → remote action. Only
 * the attempt whose token still owns the ledger record commits; a superseded attempt ends without commit.
 */
export async function fileWorkflow({ file, plan }: FileWorkflowInput): Promise<FileWorkflowResult> {
  const fits = fitsFastPath({ file, plan });
  const oneMarkerFast = fits && applies(plan.patchLevel, ONE_MARKER_FAST_PATH);
  const cheap = oneMarkerFast || applies(plan.patchLevel, CHEAP_STEPS);
  const main: Steps = {
    long: proxyActivities<FileActivities>(longActivityOptions(plan)),
    short: cheap
      ? proxyLocalActivities<FileActivities>(localShortActivityOptions(plan))
      : proxyActivities<FileActivities>(shortActivityOptions(plan)),
    cheap,
  };
  const outcome = (result: FileOutcome, extra: Partial<FileWorkflowResult> = {}): FileWorkflowResult => {
    setStage(result);
    return { outcome: result, path: file.path, version: file.version, token: file.token, tries: file.tries, ...extra };
  };

  try {
    const fast = oneMarkerFast || (fits && applies(plan.patchLevel, SMALL_FILE_FAST_PATH));
    const processed = fast ? await fastPath({ file, plan }) : await downloadProcessPublish({ file, plan }, main);
    // The fast path runs its steps in one workflow task: a stage upserted in between would never be seen.
    if (!fast) setStage('commit');
    await main.short.commitFile({ file, result: processed.result });
    if (processed.published) {
      if (plan.remoteAction) await finishRemoteAction({ file, plan }, cheap, !fast);
    } else {
      setStage('move');
      await processed.onHost.moveFile({ file, localPath: processed.localPath });
    }
    return outcome('done', { result: processed.result });
  } catch (err) {
    if (hasErrorType(err, ErrorTypes.claimLost)) {
      // Fenced: the stale token changes nothing in the ledger; the release removes this attempt's local files.
      if (cheap || applies(plan.patchLevel, RELEASE_SUPERSEDED)) {
        await main.short.releaseFile({ file, error: errorMessage(err), permanent: false });
      }
      return outcome('superseded', { error: errorMessage(err) });
    }
    // A local release runs in this workflow task: the outcome's stage follows at once.
    if (!cheap) setStage('release');
    const permanent = hasErrorType(err, ErrorTypes.permanent);
    const { status } = await main.short.releaseFile({ file, error: errorMessage(err), permanent });
    const result = status === 'REJECTED' ? 'rejected' : status === 'superseded' ? 'superseded' : 'released';
    const ended = outcome(result, { error: errorMessage(err) });
    if (result === 'rejected' && (cheap || applies(plan.patchLevel, REJECTED_FAILS))) {
      throw ApplicationFailure.nonRetryable(`REJECTED: ${errorMessage(err)}`, ErrorTypes.rejected, ended);
    }
    return ended;
  }
}

/** The file's activities: long ones as activities, short ones as local activities once CHEAP_STEPS applies. */
interface Steps {
  long: FileActivities;
  short: FileActivities;
  cheap: boolean;
}

interface Processed extends ProcessResult {
  localPath: string;
  onHost: FileActivities;
  /** False in runs recorded before publish-before-commit: they move after the commit. */
  published: boolean;
}

/** A small file of a source with the fast path on and an activity processor. */
function fitsFastPath({ file, plan }: FileWorkflowInput): boolean {
  const max = plan.smallFileMaxBytes ?? 0;
  return max > 0 && file.size <= max && plan.processorWorkflow === undefined;
}

/**
 * Download, process and publish in one local activity on this workflow's worker: the local copy stays on the
 * host that runs it, so no host queue is needed. Its failures are the steps' own (claim lost, permanent,
 * attempt failed) and take the same way as theirs.
 */
async function fastPath({ file, plan }: FileWorkflowInput): Promise<Processed> {
  const steps = proxyLocalActivities<FileActivities>(smallFileOptions(plan));
  const processed = await steps.downloadProcessPublish({ file });
  // Published already: nothing moves after the commit, so no local path or host queue is needed.
  return { ...processed, localPath: '', onHost: steps, published: true };
}

/** The steps that need the local copy, on the host that holds it; all over again if that host is lost. */
async function downloadProcessPublish({ file, plan }: FileWorkflowInput, main: Steps): Promise<Processed> {
  for (let hostLosses = 0; ; hostLosses++) {
    // The child starts with FtpStage=download: a cheap run upserts it only when it starts over.
    if (!main.cheap || hostLosses > 0) setStage('download');
    const downloaded: DownloadedFile = await main.long.downloadFile({ file });
    const hostQueue = plan.sharedWorkDir ? undefined : downloaded.hostTaskQueue;
    const onHostProcess = proxyActivities<FileActivities>(processActivityOptions(plan, hostQueue));
    const onHost = proxyActivities<FileActivities>(shortActivityOptions(plan, hostQueue));
    const localPath = downloaded.localPath;
    try {
      setStage('process');
      const processed = await processStep({ file, plan }, localPath, hostQueue, onHostProcess);
      if (main.cheap) {
        // A shared workDir: any worker sees the local copy, so publish runs here with the commit that follows.
        if (hostQueue !== undefined) setStage('publish');
        await (hostQueue === undefined ? main.short : onHost).publishFile({ file, localPath });
        return { ...processed, localPath, onHost, published: true };
      }
      if (!applies(plan.patchLevel, PUBLISH_BEFORE_COMMIT))
        return { ...processed, localPath, onHost, published: false };
      setStage('publish');
      await onHost.publishFile({ file, localPath });
      return { ...processed, localPath, onHost, published: true };
    } catch (err) {
      if (!isHostGone(err) || hostLosses + 1 >= MAX_HOST_LOSSES) throw err;
    }
  }
}

/** processFile on the host, or the source's workflow processor as a child workflow on the same host's queue. */
function processStep(
  { file, plan }: FileWorkflowInput,
  localPath: string,
  hostQueue: string | undefined,
  onHostProcess: FileActivities,
): Promise<ProcessResult> {
  const { processorWorkflow } = plan;
  if (processorWorkflow && applies(plan.patchLevel, WORKFLOW_PROCESSOR)) {
    return runWorkflowProcessor(file, { ...plan, processorWorkflow }, localPath, hostQueue);
  }
  return onHostProcess.processFile({ file, localPath });
}

/**
 * The committed version's remote action. Nothing is lost if this workflow cannot finish it (the FTP server
 * is away for long): the ledger still owes it, and a poll of any cluster runs it once its deadline passes.
 */
async function finishRemoteAction({ file, plan }: FileWorkflowInput, cheap: boolean, stage = true): Promise<void> {
  if (stage) setStage('remote-action');
  const steps = cheap
    ? proxyLocalActivities<FileActivities>(localRemoteActionOptions(plan))
    : proxyActivities<FileActivities>(remoteActionOptions(plan));
  try {
    await steps.finishRemoteAction({ file });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
  }
}

const STAGE_DETAILS: Record<string, string> = {
  download: 'Downloading the file (or waiting for a worker slot or an FTP connection)',
  process: 'Running the processor on the local copy (or waiting for a worker slot)',
  publish: 'Publishing the output into processedDir',
  commit: 'Publishing (shared workDir) and committing in the ledger (fenced by the claim token)',
  'remote-action': 'Committed; running the remote action (delete or rename)',
  move: 'Committed; moving the output and running the remote action',
  release: 'The attempt failed; releasing the claim',
  done: 'Done: published and committed',
  released: 'Released: waits for a retry after retryTimeout',
  rejected: 'REJECTED: see the failure for the reason',
  superseded: 'Superseded: another attempt owns this file now; nothing committed by this one',
};

/** The stage as a search attribute (FtpStage) and as the workflow's current details in the Web UI. */
function setStage(stage: string): void {
  upsertSearchAttributes([{ key: FTP_STAGE, value: stage }]);
  setCurrentDetails(STAGE_DETAILS[stage] ?? stage);
}

function isHostGone(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}

function hasErrorType(err: unknown, type: string): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === type;
}

function errorMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
