import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { finalizeDownload } from '../ftp/download';
import type { SourceConfig } from '../config';
import { FtpFileError, FtpSizeMismatchError, type RemoteSession } from '../remote';
import { fileVersion } from '../shared/ids';
import type { ClaimedFile, DownloadedFile } from '../shared/types';
import { remoteOf, remotePathOf, sourceOf, type ActivityDeps } from './deps';
import { attemptFailed, retryOrFail } from './failures';
import { leaseFor, withLease } from './lease-keeper';
import { downloadedRelativePath, inside } from './local-paths';
import { sameVersion, versionNow } from './remote-version';
import { isTransient, refusesTheFile } from './transient';

interface DownloadProgress {
  progress: { done: number; total: number; unit: 'bytes' };
}

/**
 * Where the download of `finalPath` is written until it is complete. Not `<name>.part`: a legal 255-byte name
 * would exceed NAME_MAX with the suffix (ENAMETOOLONG). The attempt's folder holds only this one remote file, so
 * a short hashed hidden name beside it cannot collide with anything.
 */
export function partPathOf(finalPath: string): string {
  const digest = createHash('sha256').update(path.basename(finalPath)).digest('hex').slice(0, 16);
  return path.join(path.dirname(finalPath), `.${digest}.part`);
}

/**
 * Fetches the remote file into a part file (`partPathOf`) under the attempt's folder, resuming after the bytes a killed
 * run left there (FTP REST, SFTP read at an offset), checks the size, then renames it into place. Heartbeats bytes done and renews the lease.
 */
export async function downloadFile(deps: ActivityDeps, { file }: { file: ClaimedFile }): Promise<DownloadedFile> {
  const source = sourceOf(deps, file.sourceId);
  const localPath = downloadedRelativePath(file);
  const finalPath = inside(deps.config.workDir, localPath);
  const partPath = partPathOf(finalPath);
  const done = (resumedFrom: number): DownloadedFile => ({
    localPath,
    bytes: file.size,
    resumedFrom,
    hostTaskQueue: deps.hostTaskQueue,
  });

  return withLease<DownloadProgress, DownloadedFile>(leaseFor(deps.ledger, source, file, 'download'), async (lease) => {
    // A run that finished the rename but died before reporting: the work is done.
    if ((await sizeOf(finalPath)) === file.size) return done(file.size);
    await fs.mkdir(path.dirname(finalPath), { recursive: true });
    try {
      const fetched = await remoteOf(deps, source).withSession(async (session) => {
        const result = await session.download(remotePathOf(source, file.path), partPath, {
          expectedSize: file.size,
          signal: lease.signal,
          onProgress: (bytes) => lease.heartbeat({ progress: { done: bytes, total: file.size, unit: 'bytes' } }),
        });
        const changed = await changeDuringDownload(session, source, file);
        if (changed) throw attemptFailed(`remote file changed during download: ${changed}`);
        return result;
      }, lease.signal);
      await finalizeDownload(partPath, finalPath);
      return done(fetched.resumedFrom);
    } catch (err) {
      // A run Temporal had given up on may have finished the same download meanwhile (and renamed the part).
      if ((await sizeOf(finalPath)) === file.size) return done(file.size);
      throw downloadFailure(err, file);
    }
  }).catch((err: unknown) => retryOrFail(err, waitedFor));
}

/** Runs of the download in one claim attempt that a server may refuse this file in before the attempt fails. */
export const FILE_REFUSAL_RUNS = 10;

/**
 * The environment is waited for as long as it takes; a server that is up but keeps refusing this one file (450
 * busy for good, a 5xx to RETR) only for FILE_REFUSAL_RUNS runs (minutes, with the backoff): then the attempt
 * fails and costs a try, so such a file ends REJECTED at maxTries instead of holding its claim for ever.
 */
function waitedFor(err: unknown): boolean {
  return isTransient(err) && !(refusesTheFile(err) && Context.current().info.attempt >= FILE_REFUSAL_RUNS);
}

/**
 * The right size is not the right bytes: a file rewritten in place with the same size while it was fetched (or
 * between a killed run and its resume) leaves a part of the claimed size that holds both versions. So once every
 * byte is on disk, the file is asked for its version again, as exactly as the claim's listing saw it (a claim
 * with minute times, from LIST alone, has only its size checked).
 */
async function changeDuringDownload(
  session: RemoteSession,
  source: SourceConfig,
  file: ClaimedFile,
): Promise<string | undefined> {
  if (!file.exactTime) return undefined;
  const now = await versionNow(session, source, file);
  if (!now) return `${file.path} is no longer there`;
  if (!sameVersion(now, file)) return `${file.path} is now ${fileVersion(now.mtimeMs, now.size)}, not ${file.version}`;
  return undefined;
}

function downloadFailure(err: unknown, file: ClaimedFile): unknown {
  // The remote file is no longer the version we claimed: this attempt is over; the next poll sees the new one.
  if (err instanceof FtpSizeMismatchError) return attemptFailed(`remote file changed during download: ${err.message}`);
  if (err instanceof FtpFileError) return attemptFailed(`cannot read ${file.path}: ${err.message}`);
  return err;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}
