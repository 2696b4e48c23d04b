import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, syncFile } from '../ftp/download';
import type { LedgerRecord } from '../ledger';
import { Reasons, type ClaimedFile, type PublishResult } from '../shared/types';
import { sourceOf, type ActivityDeps } from './deps';
import { attemptFailed, claimLost, permanentFailure } from './failures';
import { attemptFolder, inside, processedRelativePath } from './local-paths';

/**
 * Before the commit: moves the attempt's local copy into processedDir under a name that carries the version
 * (atomic rename, idempotent), so that once the ledger says DONE the output exists whatever happens to this
 * host or cluster afterwards. A stale attempt is refused first (it would only publish the same bytes again).
 */
export async function publishFile(
  deps: ActivityDeps,
  { file, localPath }: { file: ClaimedFile; localPath: string },
): Promise<PublishResult> {
  const { retryTimeoutMs } = sourceOf(deps, file.sourceId);
  const lease = await deps.ledger.renew(file.sourceId, file.path, file.token, retryTimeoutMs, file.owner);
  if (!lease.ok) throw claimLost(lease.reason);
  return publishAttempt(deps, file, localPath);
}

/** Publishes the attempt's local copy (relative to workDir) and removes the attempt's folder. */
export async function publishAttempt(deps: ActivityDeps, file: ClaimedFile, localPath: string): Promise<PublishResult> {
  await markProcessedDir(deps);
  const processedPath = processedRelativePath(file);
  const { workDir, processedDir } = deps.config;
  const published = inside(processedDir, processedPath);
  await publishLocalCopy(inside(workDir, localPath), published, file);
  // The commit that follows says DONE for good: the output's name, and every folder on its way (made now or by an
  // earlier run that died before this), must survive the host.
  await syncFoldersUpTo(path.dirname(published), processedDir);
  await fs.rm(inside(workDir, attemptFolder(file)), { recursive: true, force: true });
  return { processedPath };
}

/** Moves `from` to `to` whole or not at all; a repeat after success finds `to` in place and does nothing. */
async function publishLocalCopy(from: string, to: string, file: ClaimedFile): Promise<void> {
  // What is published must be what was downloaded and checked: a processor that wrote to its input is caught here
  // (by size: a same-size rewrite is not), and the next attempt works on a fresh copy.
  const size = await sizeOf(from);
  if (size !== undefined && size !== file.size) {
    throw attemptFailed(
      `local copy of ${file.path} changed after the download (${size} bytes, not ${file.size}): a processor must not write to ctx.localPath`,
    );
  }
  try {
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (await sizeOf(to)) === file.size) return; // published by an earlier run
    if (code === 'ENOENT') {
      throw attemptFailed(`local copy of ${file.path} is missing (moved or deleted by the processor?)`);
    }
    if (code === 'EXDEV') return copyIntoPlace(from, to);
    // A file where the output needs a folder, or a folder where it needs a file: no retry can fix that.
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
      throw permanentFailure(`${Reasons.typeConflict}: cannot publish ${file.path}: ${(err as Error).message}`);
    }
    // processedDir's file system refuses this name (too long there, characters it does not take): the attempt
    // fails and costs a try, so the file ends REJECTED at maxTries instead of holding its claim for ever.
    if (code !== undefined && NAME_REFUSALS.has(code)) {
      throw attemptFailed(`cannot publish ${file.path} into processedDir: ${(err as Error).message}`);
    }
    throw err; // anything else (permissions, a full or read-only disk, NFS away) is the environment: waited for
  }
}

/** Errno codes of a file system that refuses one name (where workDir took it). */
const NAME_REFUSALS: ReadonlySet<string> = new Set(['ENAMETOOLONG', 'EINVAL', 'EILSEQ']);

/** Syncs `dir` and each folder above it up to `top` (an ancestor of `dir`, or `dir` itself). */
async function syncFoldersUpTo(dir: string, top: string): Promise<void> {
  for (let at = dir; ; at = path.dirname(at)) {
    await syncDirectory(at);
    if (at === path.resolve(top) || path.dirname(at) === at) return;
  }
}

// Different file systems: copy beside the target, then rename, so the target appears whole or not at all.
// Not `<name>.moving`: a legal 255-byte name would exceed NAME_MAX with the suffix (ENAMETOOLONG).
async function copyIntoPlace(from: string, to: string): Promise<void> {
  const digest = createHash('sha256').update(path.basename(to)).digest('hex').slice(0, 16);
  const moving = path.join(path.dirname(to), `.${digest}.moving`);
  await fs.copyFile(from, moving);
  await syncFile(moving);
  await fs.rename(moving, to);
  await fs.rm(from, { force: true });
}

async function sizeOf(file: string): Promise<number | undefined> {
  return fs.stat(file).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
}

const marked = new Set<string>();

/**
 * `processedDir/.cluster-<clusterId>`: tells whether another cluster publishes into the same folder (see
 * dropOrphanPublish). Written once per process and folder.
 */
async function markProcessedDir(deps: ActivityDeps): Promise<void> {
  const marker = clusterMarker(deps.config.processedDir, deps.config.clusterId);
  if (marked.has(marker)) return;
  await fs.mkdir(deps.config.processedDir, { recursive: true });
  await fs.writeFile(marker, '');
  marked.add(marker);
}

function clusterMarker(processedDir: string, clusterId: string): string {
  return path.join(processedDir, `.cluster-${clusterId}`);
}

/**
 * An attempt that lost its claim after publishing leaves a copy the ledger may not vouch for. It goes when the
 * version ended REJECTED (no attempt will commit it), or when the version's current attempt belongs to another
 * cluster that publishes elsewhere (no marker of it here): that attempt's output, committed or still to come, is
 * there. It stays when the current attempt publishes into this folder (this cluster, or one that shares it): the
 * file at this path is, or will be, that attempt's own output. Also called after this attempt's own rejection.
 */
export async function dropOrphanPublish(deps: ActivityDeps, file: ClaimedFile): Promise<boolean> {
  const record = await deps.ledger.get(file.sourceId, file.path);
  if (record?.version !== file.version) return false;
  const extra =
    record.status === 'REJECTED' || (record.token !== file.token && (await publishesElsewhere(deps, record)));
  if (!extra) return false;
  const published = inside(deps.config.processedDir, processedRelativePath(file));
  if ((await sizeOf(published)) === undefined) return false;
  await fs.rm(published, { force: true });
  return true;
}

/** Whether the record's attempt is another cluster's, one that has never published into this processedDir. */
async function publishesElsewhere(deps: ActivityDeps, record: LedgerRecord): Promise<boolean> {
  if (record.status !== 'DONE' && record.status !== 'IN_PROGRESS') return false;
  if (record.owner === undefined || record.owner === deps.config.clusterId) return false;
  return (await sizeOf(clusterMarker(deps.config.processedDir, record.owner))) === undefined;
}
