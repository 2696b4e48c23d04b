import path from 'node:path';
import type { SourceConfig } from '../config';
import { FtpAccessError, FtpTransientError } from '../remote';
import type { ClaimedFile } from '../shared/types';
import { remoteOf, remotePathOf, sourceOf, type ActivityDeps } from './deps';
import { sameVersion, versionNow } from './remote-version';

/** The remote file a DONE version was: its path and the version (mtime and size) it was listed with. */
export interface CommittedVersion {
  path: string;
  version: string;
  mtimeMs: number;
  size: number;
}

/**
 * After the commit: the source's remote action (delete, rename) for the committed version, if the ledger still
 * owes it. Any cluster may finish it (a poll does when this workflow's cluster is gone); the outcome is recorded
 * in the ledger, fenced by version.
 */
export async function finishRemoteAction(deps: ActivityDeps, { file }: { file: ClaimedFile }): Promise<string> {
  const source = sourceOf(deps, file.sourceId);
  const record = await deps.ledger.get(file.sourceId, file.path);
  if (record?.status !== 'DONE' || record.version !== file.version || record.action !== 'pending') {
    return record?.action ?? 'none';
  }
  const outcome = await runRemoteAction(deps, source, file);
  await deps.ledger.actionDone(file.sourceId, file.path, file.version, outcome);
  return outcome;
}

/**
 * Deletes or renames the remote file, only if it is still the committed version (same mtime and size, as a
 * listing shows them): a newer version uploaded meanwhile is never touched. The version is asked right before
 * the action, never taken from an earlier listing (a poll's may be seconds or minutes old by then). Returns the
 * outcome text; a refusal about the file (no permission) is an outcome too, while a transient error is thrown
 * for a retry.
 */
export async function runRemoteAction(
  deps: ActivityDeps,
  source: SourceConfig,
  committed: CommittedVersion,
): Promise<string> {
  const action = source.remoteAction;
  if (action.type === 'none') return 'none';
  const remotePath = remotePathOf(source, committed.path);
  try {
    return await remoteOf(deps, source).withSession(async (session) => {
      const current = await versionNow(session, source, committed);
      if (!current) return 'gone: the remote file was no longer there';
      if (!sameVersion(current, committed)) {
        return 'skipped: the remote file changed (a newer version)';
      }
      if (action.type === 'delete') {
        await session.delete(remotePath);
        return 'deleted';
      }
      const target = path.posix.join(action.dir, path.posix.dirname(committed.path));
      return `renamed to ${await session.renameIntoDir(remotePath, target)}`;
    });
  } catch (err) {
    if (err instanceof FtpAccessError && !(err instanceof FtpTransientError)) return `failed: ${err.message}`;
    throw err;
  }
}
