import type { ClaimedFile, MoveResult } from '../shared/types';
import { sourceOf, type ActivityDeps } from './deps';
import { claimLost } from './failures';
import { publishAttempt } from './publish';
import { finishRemoteAction, runRemoteAction } from './remote-action';

/**
 * Kept for file workflows recorded before publish-before-commit, which call it after their commit: publishes
 * the committed attempt's copy, then the remote action. New runs publish before the commit (publishFile).
 */
export async function moveFile(
  deps: ActivityDeps,
  { file, localPath }: { file: ClaimedFile; localPath: string },
): Promise<MoveResult> {
  const record = await deps.ledger.get(file.sourceId, file.path);
  if (record?.status !== 'DONE' || record.token !== file.token) throw claimLost('not the committed attempt');
  const { processedPath } = await publishAttempt(deps, file, localPath);
  // A commit made before the ledger tracked owed actions has no `action` field: act here, as moveFile did.
  const remoteAction =
    record.action === undefined
      ? await runRemoteAction(deps, sourceOf(deps, file.sourceId), file)
      : await finishRemoteAction(deps, { file });
  return { processedPath, remoteAction };
}
