import path from 'node:path';
import type { SourceConfig } from '../config';
import type { RemoteSession } from '../remote';
import { remotePathOf } from './deps';

/** A remote file's version: its modification time and size, as a listing shows them. */
export interface RemoteVersion {
  mtimeMs: number;
  size: number;
}

/** Both name the same version: the same size, and the same time as exactly as both know it. */
export function sameVersion(a: RemoteVersion, b: RemoteVersion): boolean {
  return a.size === b.size && sameSecondOrBetter(a.mtimeMs, b.mtimeMs);
}

/**
 * The file's version now. Asked of the file alone first (SIZE and MDTM, or an SFTP stat): a listing of its
 * directory per file made remote actions on a directory of N files cost N² entries (and N² MDTMs where LIST gives
 * minutes). When that answer does not confirm the committed version (no MDTM, a server whose MDTM differs from its
 * listing, a SIZE refused), the listing decides, as the claim saw the file.
 */
export async function versionNow(
  session: RemoteSession,
  source: SourceConfig,
  committed: RemoteVersion & { path: string },
): Promise<RemoteVersion | undefined> {
  const stat = await session.stat(remotePathOf(source, committed.path)).catch(() => undefined);
  if (stat && sameVersion(stat, committed)) return committed;
  return statByListing(session, source, committed.path);
}

/** Of `relPaths`, those the server says it has no file at (see isGone), asked one after the other. */
export async function goneOf(session: RemoteSession, source: SourceConfig, relPaths: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const relPath of relPaths) if (await isGone(session, source, relPath)) gone.push(relPath);
  return gone;
}

/**
 * The server says there is no file at `relPath`: asked of the file itself (SIZE, or an SFTP stat), or, when the
 * server gives no answer about a file alone, of a fresh listing of its directory.
 */
async function isGone(session: RemoteSession, source: SourceConfig, relPath: string): Promise<boolean> {
  const unknown = Symbol('unknown');
  const stat = await session.stat(remotePathOf(source, relPath)).catch(() => unknown);
  if (stat !== unknown) return stat === undefined;
  return (await statByListing(session, source, relPath)) === undefined;
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
): Promise<RemoteVersion | undefined> {
  const dir = path.posix.dirname(relPath);
  const entries = await session.list({
    remoteDir: dir === '.' ? source.remoteDir : remotePathOf(source, dir),
    recursive: false,
    maxDepth: 0,
    timeZone: source.timeZone,
  });
  return entries.find((entry) => entry.name === path.posix.basename(relPath));
}
