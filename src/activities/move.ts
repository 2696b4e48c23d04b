import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from 'basic-ftp';
import type { SourceConfig } from '../config';
import { deleteRemote, renameRemote } from '../ftp/remote-actions';
import type { ClaimedFile, MoveResult } from '../workflows/types';
import { ftpPoolOf, remotePathOf, sourceOf, type ActivityDeps } from './deps';
import { claimLost } from './failures';
import { attemptFolder, inside, processedRelativePath } from './local-paths';

/**
 * After the commit: moves the local copy into processedDir (atomic rename, idempotent), then applies the
 * source's remote action. Runs only for the token that committed.
 */
export async function moveFile(
  deps: ActivityDeps,
  { file, localPath }: { file: ClaimedFile; localPath: string },
): Promise<MoveResult> {
  const record = await deps.ledger.get(file.sourceId, file.path);
  if (record?.status !== 'DONE' || record.token !== file.token) throw claimLost('not the committed attempt');
  const source = sourceOf(deps, file.sourceId);
  const processedPath = processedRelativePath(file);
  await moveIntoPlace(inside(deps.config.workDir, localPath), inside(deps.config.processedDir, processedPath));
  const remoteAction = await applyRemoteAction(deps, source, file);
  await fs.rm(inside(deps.config.workDir, attemptFolder(file)), { recursive: true, force: true });
  return { processedPath, remoteAction };
}

async function moveIntoPlace(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (await exists(to))) return; // moved by an earlier run of this activity
    if (code !== 'EXDEV') throw err;
    // Different file systems: copy beside the target, then rename, so the target appears whole or not at all.
    const moving = movingPathOf(to);
    await fs.copyFile(from, moving);
    await fs.rename(moving, to);
    await fs.rm(from, { force: true });
  }
}

// Not `<name>.moving`: a legal 255-byte name would exceed NAME_MAX with the suffix (ENAMETOOLONG).
function movingPathOf(to: string): string {
  const digest = createHash('sha256').update(path.basename(to)).digest('hex').slice(0, 16);
  return path.join(path.dirname(to), `.${digest}.moving`);
}

async function applyRemoteAction(deps: ActivityDeps, source: SourceConfig, file: ClaimedFile): Promise<string> {
  const action = source.remoteAction;
  if (action.type === 'none') return 'none';
  const remotePath = remotePathOf(source, file.path);
  return ftpPoolOf(deps, source).withClient(async (client) => {
    // Never delete or move a newer version that was uploaded after we listed ours.
    if (!(await stillOurVersion(client, remotePath, file))) return 'skipped: remote file changed';
    if (action.type === 'delete') {
      await deleteRemote(client, remotePath);
      return 'deleted';
    }
    const target = path.posix.join(action.dir, path.posix.dirname(file.path));
    await client.ensureDir(target);
    await client.cd('/');
    return `renamed to ${await renameRemote(client, remotePath, target)}`;
  });
}

async function stillOurVersion(client: Client, remotePath: string, file: ClaimedFile): Promise<boolean> {
  try {
    return (await client.size(remotePath)) === file.size;
  } catch {
    return true; // gone already (an earlier run acted on it): the idempotent action decides
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
