// The CLI's own FTP access (backfill listing, poll's pre-flight check): the project's pool and listing code,
// with a short timeout and errors that name the source, the setting and the address.
import type { Client } from 'basic-ftp';
import { sourcePassword, type SourceConfig } from '../config';
import { FtpAccessError, FtpFileError, FtpTransientError } from '../ftp/errors';
import { listRemote, type RemoteEntry } from '../ftp/list';
import { FtpPools } from '../ftp/pool';
import { CONNECT_TIMEOUT_MS } from './context';
import { CliError, shortReason, unreachableError, usageError } from './errors';

const where = (source: SourceConfig): string => `${source.user}@${source.host}:${source.port}`;

/** An FTP error of a source, in operator terms: unreachable (3), or the setting to fix (2). */
export function ftpError(source: SourceConfig, err: unknown): unknown {
  if (err instanceof CliError || !(err instanceof Error)) return err;
  const reason = shortReason(err);
  const code = err instanceof FtpAccessError ? err.ftpCode : undefined;
  if (code === 530) {
    return usageError(
      `FTP server ${where(source)} refused the login of source ${source.id}: ${reason} (sources.${source.id}.user / passwordEnv / passwordFile)`,
      err,
    );
  }
  if (err instanceof FtpFileError) {
    return usageError(
      `source ${source.id}: remote directory ${source.remoteDir} is missing or not readable on ${where(source)}: ${reason} (sources.${source.id}.remoteDir)`,
      err,
    );
  }
  if (err instanceof FtpTransientError || /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Timeout/i.test(reason)) {
    return unreachableError(
      `FTP server of source ${source.id} at ${where(source)} is unreachable: ${reason} (sources.${source.id}.host / port)`,
      err,
    );
  }
  return err;
}

/** Runs `fn` with one logged-in client of the source; the connection is closed afterwards. */
export async function withSourceFtp<T>(source: SourceConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const pools = new FtpPools();
  const endpoint = {
    host: source.host,
    port: source.port,
    user: source.user,
    password: sourcePassword(source),
    secure: source.secure,
    timeoutMs: CONNECT_TIMEOUT_MS,
  };
  try {
    return await pools.get(endpoint, { maxConnections: 1 }).withClient(fn);
  } catch (err) {
    throw ftpError(source, err);
  } finally {
    await pools.closeAll();
  }
}

/** The source's listing now, as a poll sees it (before filters). */
export function listSource(source: SourceConfig): Promise<RemoteEntry[]> {
  return withSourceFtp(source, (client) =>
    listRemote(client, {
      remoteDir: source.remoteDir,
      recursive: source.recursive,
      maxDepth: source.recursive ? source.maxDepth : 0,
      timeZone: source.timeZone,
    }),
  );
}

/** Logs in and enters the remote dir: what a poll needs, checked in seconds. */
export async function checkSource(source: SourceConfig): Promise<void> {
  await withSourceFtp(source, async (client) => {
    const start = await client.pwd();
    try {
      await client.cd(source.remoteDir);
    } finally {
      await client.cd(start).catch(() => undefined);
    }
  });
}
