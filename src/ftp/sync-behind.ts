import type fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** Bytes that pass between two background syncs of a download's part file. */
export const SYNC_BEHIND_BYTES = 32 * 2 ** 20;

/**
 * Sits before a part file's write stream and has the disk write the bytes behind the transfer (a `datasync` of the
 * part every SYNC_BEHIND_BYTES, one at a time). The sync before the part's rename (`finalizeDownload`) is still what
 * makes the file durable; this only leaves it little to write: without it a large file's whole write-back began after
 * its last byte arrived, and a 1 GiB download took twice as long. A failed sync fails the transfer: a later sync of
 * the same file may report success for bytes lost.
 */
export class SyncBehind extends Transform {
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(private readonly part: fs.promises.FileHandle) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) {
      callback(this.failure);
      return;
    }
    this.unsynced += chunk.length;
    if (this.unsynced >= SYNC_BEHIND_BYTES && !this.syncing) {
      this.unsynced = 0;
      this.syncing = this.part
        .datasync()
        .catch((err: unknown) => {
          this.failure ??= err as Error;
        })
        .finally(() => (this.syncing = undefined));
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const last = this.syncing ?? Promise.resolve();
    void last.then(() => callback(this.failure));
  }
}

/** The stage to put before the part file's write stream: none for a transfer of at most SYNC_BEHIND_BYTES. */
export function syncBehind(part: fs.promises.FileHandle, bytesToCome: number): SyncBehind[] {
  return bytesToCome > SYNC_BEHIND_BYTES ? [new SyncBehind(part)] : [];
}
