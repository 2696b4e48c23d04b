import type { ClaimedFile, ProcessResult } from '../shared/types';
import type { ActivityDeps } from './deps';
import { downloadFile } from './download';
import { processFile } from './process';
import { publishFile } from './publish';

/**
 * The small-file fast path (plan.smallFileMaxBytes): download → process → publish in one local activity on the
 * workflow's worker, so the local copy never leaves this host and no host queue is needed. Each step keeps its
 * own rules: download and process open a counted run in the ledger and renew the lease (a worker killed inside
 * counts one crash, a clean run none), process stops at processTimeout, publish refuses a lost claim. A run that
 * starts over after a crash downloads again (a small file: cheap) and publishes the same name (idempotent).
 */
export async function downloadProcessPublish(
  deps: ActivityDeps,
  { file }: { file: ClaimedFile },
): Promise<ProcessResult> {
  const { localPath } = await downloadFile(deps, { file });
  const processed = await processFile(deps, { file, localPath });
  await publishFile(deps, { file, localPath });
  return processed;
}
