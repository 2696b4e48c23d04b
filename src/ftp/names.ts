import path from 'node:path';

export type NameCheck = { ok: true } | { ok: false; reason: string };

/** Thrown where a name must be safe and is not; `reason` is the short text recorded in the ledger. */
export class UnsafeNameError extends Error {
  constructor(
    readonly unsafePath: string,
    readonly reason: string,
  ) {
    super(`unsafe-name: ${reason}: ${JSON.stringify(unsafePath)}`);
    this.name = 'UnsafeNameError';
  }
}

const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;
// C0 controls, DEL and C1 controls: newline/CR would even split an FTP command (command injection).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Decides whether a remote path relative to the listed directory may be used (DESIGN §8). Unicode,
 * spaces and a leading dash are legal names and pass; the callers keep them away from shells and options.
 */
export function checkSafeName(relPath: string): NameCheck {
  if (relPath.length === 0) return refuse('empty name');
  if (relPath.includes('\u0000')) return refuse('NUL character');
  const control = CONTROL_CHARS.exec(relPath);
  if (control) return refuse(`control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (relPath.includes('\\')) return refuse('backslash');
  // U+FFFD means the server sent bytes that are not UTF-8: we could not name the file back to the server.
  if (relPath.includes('\ufffd')) return refuse('name is not valid UTF-8');
  if (relPath.startsWith('/')) return refuse('absolute path');
  if (Buffer.byteLength(relPath) > MAX_PATH_BYTES) return refuse(`path longer than ${MAX_PATH_BYTES} bytes`);
  for (const segment of relPath.split('/')) {
    if (segment === '') return refuse('empty path segment');
    if (segment === '..') return refuse("'..' segment");
    if (segment === '.') return refuse("'.' segment");
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return refuse(`segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return { ok: true };
}

function refuse(reason: string): NameCheck {
  return { ok: false, reason };
}

/** Throws `UnsafeNameError` unless `checkSafeName` accepts the path. */
export function assertSafeName(relPath: string): void {
  const check = checkSafeName(relPath);
  if (!check.ok) throw new UnsafeNameError(relPath, check.reason);
}

/**
 * The remote path of `name` (relative to `remoteDir`), posix-normalized. Refuses unsafe names: key a
 * rejected file by its raw listed path instead. A result that would start with `-` gets a `./` prefix so
 * that no server can mistake it for an option (LIST/STAT parse options on some servers).
 */
export function normalizeRemotePath(remoteDir: string, name: string): string {
  assertSafeName(name);
  const joined = path.posix.normalize(path.posix.join(remoteDir === '' ? '.' : remoteDir, name));
  return joined.startsWith('-') ? `./${joined}` : joined;
}

/**
 * Guards any path we put on the FTP control connection: CR/LF would end the command and start another
 * (e.g. `x\r\nDELE y`), NUL truncates it on some servers.
 */
export function assertSafeCommandArg(remotePath: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\r\n\u0000]/.test(remotePath)) throw new UnsafeNameError(remotePath, 'control character in FTP command');
}

/** `baseDir/relPath` resolved, after checking the name; throws if the result is not strictly inside baseDir. */
export function safeLocalPath(baseDir: string, relPath: string): string {
  assertSafeName(relPath);
  const base = path.resolve(baseDir);
  const resolved = path.resolve(base, ...relPath.split('/'));
  const relative = path.relative(base, resolved);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new UnsafeNameError(relPath, 'resolves outside the base directory');
  }
  return resolved;
}
