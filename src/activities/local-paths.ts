import path from 'node:path';
import { safeLocalPath } from '../ftp/names';
import type { ClaimedFile } from '../shared/types';

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

/**
 * Where a version is published, relative to processedDir: `<source>/<dir>/@<mtimeMs>-<size>/<name>`. The
 * version folder keeps outputs of different versions apart, and the name (and its extension) as it was.
 */
export function processedRelativePath(file: ClaimedFile): string {
  const dir = path.posix.dirname(file.path);
  return path.join(file.sourceId, dir === '.' ? '' : dir, `@${file.version}`, path.posix.basename(file.path));
}
