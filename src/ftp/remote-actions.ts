import { FTPError, type Client } from 'basic-ftp';
import path from 'node:path';
import { classifyFtpError } from './errors';
import { assertSafeCommandArg } from './names';

/**
 * Deletes a remote file. Idempotent: if the delete is refused and the file is gone (an earlier attempt
 * deleted it, then the activity was retried), that is success.
 */
export async function deleteRemote(client: Client, remotePath: string): Promise<void> {
  assertSafeCommandArg(remotePath);
  try {
    await client.remove(remotePath);
  } catch (err) {
    if (err instanceof FTPError && !(await remoteFileExists(client, remotePath))) return;
    throw classifyFtpError(err);
  }
}

/**
 * Moves a remote file into `toDir` under the same name; returns the new path. Idempotent: a source that is
 * gone while the target exists means an earlier attempt did it.
 */
export async function renameRemote(client: Client, from: string, toDir: string): Promise<string> {
  const target = path.posix.join(toDir, path.posix.basename(from));
  assertSafeCommandArg(from);
  assertSafeCommandArg(target);
  try {
    await client.rename(from, target);
  } catch (err) {
    if (err instanceof FTPError && (await movedAlready(client, from, target))) return target;
    throw classifyFtpError(err);
  }
  return target;
}

/**
 * Creates `dir` and its missing parents (MKD, as basic-ftp's ensureDir), then returns to the working directory it
 * started in, so that a pooled client's relative paths keep meaning what they meant.
 */
export async function ensureRemoteDir(client: Client, dir: string): Promise<void> {
  assertSafeCommandArg(dir);
  try {
    const startDir = await client.pwd();
    await client.ensureDir(dir);
    await client.cd(startDir);
  } catch (err) {
    throw classifyFtpError(err);
  }
}

async function movedAlready(client: Client, from: string, target: string): Promise<boolean> {
  return !(await remoteFileExists(client, from)) && (await remoteFileExists(client, target));
}

// SIZE answers for files only (213) and with 550 when there is none; both servers we run support it.
async function remoteFileExists(client: Client, remotePath: string): Promise<boolean> {
  try {
    await client.size(remotePath);
    return true;
  } catch (err) {
    if (err instanceof FTPError && (err.code === 550 || err.code === 551)) return false;
    throw err;
  }
}
