import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { FileActivities } from '../activities';
import { longActivityOptions, shortActivityOptions } from './activity-options';
import { FTP_STAGE } from './search-attributes';
import {
  ErrorTypes,
  type DownloadResult,
  type FileOutcome,
  type FileWorkflowInput,
  type FileWorkflowResult,
  type ProcessResult,
} from './types';

/**
 * A superseded attempt calls releaseFile (DESIGN.md, departures) so that its downloaded copy does not stay in
 * workDir. Runs recorded before this change ended without it and replay that way.
 */
const RELEASE_SUPERSEDED = 'release-superseded';

/** Times the file may start over from download because the host holding its local copy vanished. */
const MAX_HOST_LOSSES = 3;

/**
 * One claim attempt of one file version: download → process → commit (fenced) → move. Only the attempt whose
 * token still owns the ledger record commits; a superseded attempt ends without commit or move.
 */
export async function fileWorkflow({ file, plan }: FileWorkflowInput): Promise<FileWorkflowResult> {
  const main = {
    long: proxyActivities<FileActivities>(longActivityOptions(plan)),
    short: proxyActivities<FileActivities>(shortActivityOptions(plan)),
  };
  const outcome = (result: FileOutcome, extra: Partial<FileWorkflowResult> = {}): FileWorkflowResult => {
    setStage(result);
    return { outcome: result, path: file.path, version: file.version, token: file.token, tries: file.tries, ...extra };
  };

  try {
    const processed = await downloadAndProcess({ file, plan }, main.long);
    setStage('commit');
    await main.short.commitFile({ file, result: processed.result });
    setStage('move');
    await processed.onHost.moveFile({ file, localPath: processed.localPath });
    return outcome('done', { result: processed.result });
  } catch (err) {
    if (hasErrorType(err, ErrorTypes.claimLost)) {
      // Fenced: the stale token changes nothing in the ledger; the release removes this attempt's local files.
      if (patched(RELEASE_SUPERSEDED)) {
        await main.short.releaseFile({ file, error: errorMessage(err), permanent: false });
      }
      return outcome('superseded', { error: errorMessage(err) });
    }
    setStage('release');
    const permanent = hasErrorType(err, ErrorTypes.permanent);
    const { status } = await main.short.releaseFile({ file, error: errorMessage(err), permanent });
    const result = status === 'REJECTED' ? 'rejected' : status === 'superseded' ? 'superseded' : 'released';
    return outcome(result, { error: errorMessage(err) });
  }
}

interface Processed extends ProcessResult {
  localPath: string;
  onHost: FileActivities;
}

async function downloadAndProcess({ file, plan }: FileWorkflowInput, mainLong: FileActivities): Promise<Processed> {
  for (let hostLosses = 0; ; hostLosses++) {
    setStage('download');
    const downloaded: DownloadResult = await mainLong.downloadFile({ file });
    const hostQueue = plan.sharedWorkDir ? undefined : downloaded.hostTaskQueue;
    const onHostLong = proxyActivities<FileActivities>(longActivityOptions(plan, hostQueue));
    const onHost = proxyActivities<FileActivities>(shortActivityOptions(plan, hostQueue));
    try {
      setStage('process');
      const processed = await onHostLong.processFile({ file, localPath: downloaded.localPath });
      return { ...processed, localPath: downloaded.localPath, onHost };
    } catch (err) {
      if (!isHostGone(err) || hostLosses + 1 >= MAX_HOST_LOSSES) throw err;
    }
  }
}

function setStage(stage: string): void {
  upsertSearchAttributes([{ key: FTP_STAGE, value: stage }]);
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
