import path from 'node:path';
import { safeLocalPath } from '../ftp/names';
import type { ClaimedFile } from '../workflows/types';

// Each claim attempt downloads into a folder of its own (named by its fencing token), so a stale attempt still
// running somewhere can never write into the file of the attempt that replaced it.

/** Folder of one attempt, relative to workDir. */
export function attemptFolder(file: ClaimedFile): string {
  return path.join(file.sourceId, `attempt-${file.token}`);
}

/** Downloaded file of an attempt, relative to workDir (the name that enters workflow history). */
export function downloadedRelativePath(file: ClaimedFile): string {
  return path.join(attemptFolder(file), file.path);
}

/** Absolute local path inside `baseDir`; refuses anything that would resolve outside it. */
export function inside(baseDir: string, relativePath: string): string {
  return safeLocalPath(baseDir, relativePath);
}

/** Where a committed file ends up, relative to processedDir. */
export function processedRelativePath(file: ClaimedFile): string {
  return path.join(file.sourceId, file.path);
}
