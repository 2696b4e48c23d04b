// Where the product publishes a version (processedDir/<source>/<dir>/@<mtimeMs>-<size>/<name>), seen from the
// tests: the remote path of each output, and the output of a remote path.
import fs from 'node:fs';
import path from 'node:path';

const VERSION_FOLDER = /^@(\d+)-(\d+)$/;

/** Every published file under a source's processed folder, as the remote path it came from (one per version). */
export function publishedPaths(sourceDir: string): string[] {
  if (!fs.existsSync(sourceDir)) return [];
  return fs
    .readdirSync(sourceDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => remotePathOf(path.relative(sourceDir, path.join(e.parentPath, e.name))));
}

/** `a/@1700-12/b.csv` → `a/b.csv`. */
export function remotePathOf(published: string): string {
  const parts = published.split(path.sep);
  return parts.filter((part, i) => !(i === parts.length - 2 && VERSION_FOLDER.test(part))).join('/');
}

/**
 * The published file of a remote path: of its newest version when there are several; a path that does not
 * exist when there is none (so `fs.existsSync` answers false).
 */
export function publishedFile(sourceDir: string, remotePath: string): string {
  const dir = path.join(sourceDir, path.posix.dirname(remotePath));
  const name = path.posix.basename(remotePath);
  const versions = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((entry) => VERSION_FOLDER.test(entry) && fs.existsSync(path.join(dir, entry, name)))
        .sort((a, b) => Number(VERSION_FOLDER.exec(a)?.[1]) - Number(VERSION_FOLDER.exec(b)?.[1]))
    : [];
  const newest = versions.at(-1);
  return newest ? path.join(dir, newest, name) : path.join(dir, '@none', name);
}
