import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FTPError, type Client } from 'basic-ftp';
import { classifyFtpError, FtpFileError, FtpSizeMismatchError, FtpTransientError } from './errors';
import { assertSafeCommandArg } from './names';
import { syncBehind } from './sync-behind';

export interface DownloadOptions {
  /** The size the file was listed (and claimed) with. */
  expectedSize: number;
  /** Total bytes in the `.part` file so far (resumed bytes included); called about twice a second. */
  onProgress?: (bytesDone: number) => void;
  /** Aborting closes the client (the only way to stop a basic-ftp transfer); the pool then discards it. */
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Bytes transferred by this call. */
  bytesFetched: number;
  /** Offset the transfer restarted at (REST), 0 for a fresh download. */
  resumedFrom: number;
}

/**
 * Downloads `remotePath` into `localPartPath`, resuming after the bytes already there (REST), and checks
 * that the result has the listed size. The caller renames the part file with `finalizeDownload`.
 */
export async function downloadToFile(
  client: Client,
  remotePath: string,
  localPartPath: string,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  assertSafeCommandArg(remotePath);
  opts.signal?.throwIfAborted();
  const { part, resumedFrom } = await openResumablePart(localPartPath, opts.expectedSize);
  try {
    // Appending to a prefix of a file that has since changed would splice two versions; SIZE is one cheap check.
    if (resumedFrom > 0) await assertRemoteSize(client, remotePath, opts.expectedSize);
    if (resumedFrom < opts.expectedSize || opts.expectedSize === 0) {
      await transfer(client, remotePath, part, resumedFrom, opts);
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof ResumeMismatch) throw await startOver('ftp', localPartPath, remotePath, err);
    // A server without REST (or refusing it for this file) can still send the whole file.
    if (resumedFrom > 0 && isRestRefusal(err)) throw await startOver('ftp', localPartPath, remotePath, err);
    throw await brokenTransferOr(classifyFtpError(err), localPartPath, resumedFrom);
  } finally {
    await part.close().catch(() => undefined); // when no transfer took it over (its stream closes it)
  }
  return checkDownloaded('ftp', remotePath, localPartPath, opts.expectedSize, resumedFrom, () =>
    remoteSizeIs(client, remotePath, opts.expectedSize),
  );
}

/**
 * A refusal that comes after file bytes arrived is about the transfer, not the file: ftp-srv, for one, answers a
 * broken data connection with `551 read ECONNRESET`. Such a download is resumable, so it must not fail the file.
 */
async function brokenTransferOr(err: Error, localPartPath: string, resumedFrom: number): Promise<Error> {
  if (!(err instanceof FtpFileError) || (await partSize(localPartPath)) <= resumedFrom) return err;
  return new FtpTransientError(`ftp transfer broken: ${err.message}`, err.ftpCode, { cause: err });
}

async function remoteSizeIs(client: Client, remotePath: string, expectedSize: number): Promise<boolean> {
  try {
    return (await client.size(remotePath)) === expectedSize;
  } catch (err) {
    throw classifyFtpError(err);
  }
}

/** Bytes before the resume point fetched again and compared with the part file's (see TransferGuard). */
export const RESUME_OVERLAP_BYTES = 64 * 1024;

async function transfer(
  client: Client,
  remotePath: string,
  part: fs.promises.FileHandle,
  startAt: number,
  opts: DownloadOptions,
): Promise<void> {
  const { check, fetchFrom } = await resumeCheck(part, startAt);
  // Positional writes, never appends: if Temporal retries a run it believes dead while that run still writes,
  // both write the same bytes of the same file version at the same offsets, so the part file stays a
  // faithful prefix of the remote file whichever run finishes first. (The stream closes the handle.)
  const out = part.createWriteStream({ start: startAt });
  const closed = new Promise<void>((resolve) => out.once('close', resolve));
  let writeError: Error | undefined;
  const written = pipeline([check, ...syncBehind(part, opts.expectedSize - fetchFrom), out]).catch(
    (err: unknown) => (writeError ??= err as Error),
  );
  const abort = (): void => client.close();
  opts.signal?.addEventListener('abort', abort, { once: true });
  client.trackProgress((info) => opts.onProgress?.(Math.max(startAt, fetchFrom + info.bytes)));
  try {
    await client.downloadTo(check, remotePath, fetchFrom);
  } finally {
    client.trackProgress();
    opts.signal?.removeEventListener('abort', abort);
    if (!check.destroyed) check.end(); // basic-ftp ends it too, but not if it failed before the transfer started
    await written;
    await closed; // the size check below must see every byte on disk
  }
  if (writeError) throw writeError;
}

/**
 * Where a transfer that continues the part at `startAt` fetches from (a little before: the bytes it lacks, plus up to
 * RESUME_OVERLAP_BYTES it already has), and the guard to pipe it through, which checks those bytes against the
 * part's. Shared by FTP and SFTP.
 */
export async function resumeCheck(
  part: fs.promises.FileHandle,
  startAt: number,
): Promise<{ check: TransferGuard; fetchFrom: number }> {
  if (startAt === 0) return { check: new TransferGuard(Buffer.alloc(0), 0), fetchFrom: 0 };
  const overlapFrom = startAt - Math.min(startAt, RESUME_OVERLAP_BYTES);
  const overlap = await part.read(Buffer.alloc(startAt - overlapFrom), 0, startAt - overlapFrom, overlapFrom);
  const fetchFrom = startAt - overlap.bytesRead;
  return { check: new TransferGuard(overlap.buffer.subarray(0, overlap.bytesRead), fetchFrom), fetchFrom };
}

/** The bytes a resumed transfer fetched again differ from the part's: the part is no prefix of the remote file. */
export class ResumeMismatch extends Error {}

/**
 * Between the data connection and the part file. It checks a resumed transfer's first bytes against `expected`,
 * the part's bytes at the same offsets: a resume that does not continue the bytes already on disk — a server that
 * ignored REST, or a part that some fault filled with other bytes — would otherwise give a file of the right size
 * with the wrong contents. And it takes one feed only: pure-ftpd ends an aborted transfer with a second `150`
 * reply, on which basic-ftp pipes the data connection in again, so every byte after it would be written twice.
 */
export class TransferGuard extends Transform {
  private checked = 0;

  constructor(
    private readonly expected: Buffer,
    private readonly at: number,
  ) {
    super();
    // A refused second feed is a third pipeline on this stream: their listeners pass Node's warning level of 10.
    this.setMaxListeners(20);
    let sources = 0;
    this.on('pipe', () => {
      sources += 1;
      if (sources > 1) this.destroy(new FtpTransientError('ftp transfer fed twice by its data connection', undefined));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const n = Math.min(chunk.length, this.expected.length - this.checked);
    const expected = this.expected.subarray(this.checked, this.checked + n);
    if (n > 0 && !chunk.subarray(0, n).equals(expected)) {
      let i = 0;
      while (chunk[i] === expected[i]) i++;
      callback(new ResumeMismatch(`offset ${this.at + this.checked + i}`));
      return;
    }
    this.checked += n;
    if (chunk.length > n) this.push(chunk.subarray(n));
    callback();
  }
}

/**
 * A part that is not a prefix of the remote file goes (unlinked, not truncated: a run still writing keeps its own
 * inode, and can leave no hole in the next part), and the download starts over from byte 0 on the next try.
 */
export async function startOver(
  protocol: string,
  localPartPath: string,
  remotePath: string,
  err: ResumeMismatch | FTPError,
): Promise<Error> {
  await fs.promises.rm(localPartPath, { force: true });
  const why =
    err instanceof ResumeMismatch
      ? `does not continue the bytes already downloaded (${err.message})`
      : `was refused (${err.code}: ${err.message.trim()})`;
  return new FtpTransientError(`${protocol} resume of ${remotePath} ${why}: starting over`, undefined);
}

/** Replies that say the command is not understood or not implemented (REST among others): not about the bytes. */
function isRestRefusal(err: unknown): err is FTPError {
  return err instanceof FTPError && [500, 501, 502, 504].includes(err.code);
}

/**
 * The part file of a download, opened for positional writes (created when missing), and the offset to resume at.
 * The offset is the size of the very file this run writes (fstat of its own handle): another run may rename the part
 * into place or start a new one meanwhile, and an offset read from a path could then leave a hole of zeros in a file
 * of the right size. Shared by FTP and SFTP.
 */
export async function openResumablePart(
  localPartPath: string,
  expectedSize: number,
): Promise<{ part: fs.promises.FileHandle; resumedFrom: number }> {
  const part = await openPart(localPartPath);
  try {
    const size = (await part.stat()).size;
    if (size <= expectedSize) return { part, resumedFrom: size };
    // A part longer than the file cannot be a prefix of it (an older version's leftover): start over.
    await part.truncate(0);
    return { part, resumedFrom: 0 };
  } catch (err) {
    await part.close();
    throw err;
  }
}

/**
 * The result of a finished transfer, once the part file has the listed size. A transfer that stopped short while the
 * remote file still has its size (`remoteUnchanged`) was cut (a data connection closed early looks complete):
 * transient. Any other size: the remote file changed. Shared by FTP and SFTP.
 */
export async function checkDownloaded(
  protocol: string,
  remotePath: string,
  localPartPath: string,
  expectedSize: number,
  resumedFrom: number,
  remoteUnchanged: () => Promise<boolean>,
): Promise<DownloadResult> {
  const finalSize = await partSize(localPartPath);
  if (finalSize !== expectedSize) {
    if (finalSize < expectedSize && finalSize > resumedFrom && (await remoteUnchanged())) {
      throw new FtpTransientError(
        `${protocol} transfer ended early: ${remotePath} ${finalSize} of ${expectedSize} bytes, the remote file is unchanged`,
        undefined,
      );
    }
    throw new FtpSizeMismatchError(remotePath, expectedSize, finalSize);
  }
  return { bytesFetched: finalSize - resumedFrom, resumedFrom };
}

/** The part file for reading and positional writes: the one there (another run may have just created it), or a new one. */
function openPart(file: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
}

async function assertRemoteSize(client: Client, remotePath: string, expectedSize: number): Promise<void> {
  const size = await client.size(remotePath);
  if (size !== expectedSize) throw new FtpSizeMismatchError(remotePath, expectedSize, size);
}

async function partSize(localPartPath: string): Promise<number> {
  try {
    return (await fs.promises.stat(localPartPath)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Makes a finished part file durable and gives it its final name atomically (same file system). Idempotent:
 * a retry after the rename went through (part gone, final there) succeeds.
 */
export async function finalizeDownload(partPath: string, finalPath: string): Promise<void> {
  if (!fs.existsSync(partPath) && fs.existsSync(finalPath)) return;
  await syncFile(partPath);
  await fs.promises.rename(partPath, finalPath);
  await syncDirectory(path.dirname(finalPath));
}

/** Makes a file's bytes durable (a host that dies after this keeps them). */
export function syncFile(file: string): Promise<void> {
  return syncOpened(file, 'r+');
}

/** A rename or a new entry lives in its directory: without this a host that dies can forget it. */
export function syncDirectory(dir: string): Promise<void> {
  return syncOpened(dir, 'r');
}

async function syncOpened(target: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await fs.promises.open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
