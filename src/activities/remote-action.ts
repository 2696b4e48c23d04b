import path from 'node:path';
import type { SourceConfig } from '../config';
import { FtpAccessError, FtpTransientError, type RemoteSession } from '../remote';
import type { ClaimedFile } from '../shared/types';
import { remoteOf, remotePathOf, sourceOf, type ActivityDeps } from './deps';

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
 * listing shows them): a newer version uploaded meanwhile is never touched. Returns the outcome text; a refusal
 * about the file (no permission) is an outcome too, while a transient error is thrown for a retry.
 */
export async function runRemoteAction(
  deps: ActivityDeps,
  source: SourceConfig,
  committed: CommittedVersion,
  listed?: { mtimeMs: number; size: number },
): Promise<string> {
  const action = source.remoteAction;
  if (action.type === 'none') return 'none';
  const remotePath = remotePathOf(source, committed.path);
  try {
    return await remoteOf(deps, source).withSession(async (session) => {
      const current = listed ?? (await versionNow(session, source, committed));
      if (!current) return 'gone: the remote file was no longer there';
      if (current.mtimeMs !== committed.mtimeMs || current.size !== committed.size) {
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

/**
 * The file's version now. Asked of the file alone first (SIZE and MDTM, or an SFTP stat): a listing of its
 * directory per file made remote actions on a directory of N files cost N² entries (and N² MDTMs where LIST gives
 * minutes). When that answer does not confirm the committed version (no MDTM, a server whose MDTM differs from its
 * listing, a SIZE refused), the listing decides, as the claim saw the file.
 */
async function versionNow(
  session: RemoteSession,
  source: SourceConfig,
  committed: CommittedVersion,
): Promise<{ mtimeMs: number; size: number } | undefined> {
  const stat = await session.stat(remotePathOf(source, committed.path)).catch(() => undefined);
  if (stat?.size === committed.size && sameSecondOrBetter(stat.mtimeMs, committed.mtimeMs)) return committed;
  return statByListing(session, source, committed.path);
}

/** Equal times, or equal to the second when one of them has no fraction (MDTM and MLSD may differ in that). */
function sameSecondOrBetter(a: number, b: number): boolean {
  if (a === b) return true;
  const whole = (ms: number): boolean => ms % 1000 === 0;
  return (whole(a) || whole(b)) && Math.floor(a / 1000) === Math.floor(b / 1000);
}

/** The file's version as a listing of its directory shows it (the same precision the claim saw). */
async function statByListing(
  session: RemoteSession,
  source: SourceConfig,
  relPath: string,
): Promise<{ mtimeMs: number; size: number } | undefined> {
  const dir = path.posix.dirname(relPath);
  const entries = await session.list({
    remoteDir: dir === '.' ? source.remoteDir : remotePathOf(source, dir),
    recursive: false,
    maxDepth: 0,
    timeZone: source.timeZone,
  });
  return entries.find((entry) => entry.name === path.posix.basename(relPath));
}
