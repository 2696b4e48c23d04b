// The CLI's own access to a source's server (backfill listing, poll's pre-flight check), whichever protocol: the
// project's remote clients and listing, with a short timeout and errors that name the source, setting and address.
import type { SourceConfig } from '../config';
import { listOptionsOf, type RemoteEntry } from '../ftp/list';
import {
  createRemoteClient,
  errnoOf,
  FtpAccessError,
  FtpFileError,
  FtpTransientError,
  NETWORK_ERRNOS,
  RemoteLoginError,
  RemoteTrustError,
  remoteEndpointOf,
  SftpHostKeyError,
  type RemoteSession,
} from '../remote';
import { CONNECT_TIMEOUT_MS } from './context';
import { CliError, shortReason, unreachableError, usageError } from './errors';

const UNREACHABLE_ERRNOS = new Set([...NETWORK_ERRNOS, 'ENOTFOUND']);

const where = (source: SourceConfig): string => `${source.user}@${source.host}:${source.port}`;

const protocolName = (source: SourceConfig): string => (source.protocol === 'sftp' ? 'SFTP' : 'FTP');

/** An FTP error of a source, in operator terms: unreachable (3), or the setting to fix (2). */
export function ftpError(source: SourceConfig, err: unknown): unknown {
  if (err instanceof CliError || !(err instanceof Error)) return err;
  const reason = shortReason(err);
  const code = err instanceof FtpAccessError ? err.ftpCode : undefined;
  const settings = (...names: string[]): string => names.map((name) => `sources.${source.id}.${name}`).join(' / ');
  if (code === 530 || err instanceof RemoteLoginError) {
    const credentials =
      source.protocol === 'sftp'
        ? settings('user', 'passwordEnv', 'passwordFile', 'privateKeyEnv', 'privateKeyFile', 'passphraseEnv')
        : settings('user', 'passwordEnv', 'passwordFile');
    return usageError(
      `${protocolName(source)} server ${where(source)} refused the login of source ${source.id}: ${reason} (${credentials})`,
      err,
    );
  }
  // A certificate or host key that does not verify is the trust setup to fix, not the network (retrying won't help).
  if (err instanceof RemoteTrustError) {
    const trust = err instanceof SftpHostKeyError ? settings('knownHosts', 'hostKeyFingerprint') : settings('tls');
    return usageError(`source ${source.id}: ${reason} (${trust})`, err);
  }
  if (err instanceof FtpFileError) {
    return usageError(
      `source ${source.id}: remote directory ${source.remoteDir} is missing or not readable on ${where(source)}: ${reason} (sources.${source.id}.remoteDir)`,
      err,
    );
  }
  // Classified by the remote layer (timeouts and dropped connections are FtpTransientError); what it leaves as is,
  // a host name that does not resolve or a network that does not answer, by its errno code.
  if (err instanceof FtpTransientError || UNREACHABLE_ERRNOS.has(errnoOf(err) ?? '')) {
    return unreachableError(
      `FTP server of source ${source.id} at ${where(source)} is unreachable: ${reason} (sources.${source.id}.host / port)`,
      err,
    );
  }
  return err;
}

/** Runs `fn` with one logged-in session of the source; the connection is closed afterwards. */
export async function withSourceSession<T>(
  source: SourceConfig,
  fn: (session: RemoteSession) => Promise<T>,
): Promise<T> {
  const client = createRemoteClient(
    { ...remoteEndpointOf(source), timeoutMs: CONNECT_TIMEOUT_MS },
    { maxConnections: 1 },
  );
  try {
    return await client.withSession(fn);
  } catch (err) {
    throw ftpError(source, err);
  } finally {
    await client.close();
  }
}

/** The source's listing now, as a poll sees it (before filters). */
export function listSource(source: SourceConfig): Promise<RemoteEntry[]> {
  return withSourceSession(source, (session) => session.list(listOptionsOf(source)));
}

/** Logs in and lists the remote dir (not below it): what a poll needs, checked in seconds. */
export async function checkSource(source: SourceConfig): Promise<void> {
  await withSourceSession(source, async (session) => {
    await session.list({ remoteDir: source.remoteDir, recursive: false, maxDepth: 0, timeZone: source.timeZone });
  });
}
