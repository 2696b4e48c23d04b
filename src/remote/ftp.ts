// FTP and FTPS behind the RemoteSession interface: a thin adapter over src/ftp (pool, list, download, actions).
import { FTPError, type Client } from 'basic-ftp';
import { describeEndpoint, type FtpEndpoint } from '../ftp/connection-options';
import { downloadToFile } from '../ftp/download';
import { classifyFtpError } from '../ftp/errors';
import { ExactTimes } from '../ftp/exact-times';
import { listRemote } from '../ftp/list';
import { assertSafeCommandArg } from '../ftp/names';
import { FtpPool } from '../ftp/pool';
import { deleteRemote, ensureRemoteDir, renameRemote } from '../ftp/remote-actions';
import { PooledRemoteClient } from './session-pool';
import type { DownloadOptions, DownloadResult, ListOptions, RemoteEntry, RemotePoolOptions } from './types';
import type { RemoteSession, RemoteStat } from './types';

export type FtpRemoteEndpoint = FtpEndpoint & { readonly protocol: 'ftp' };

/** The RemoteSession of one logged-in basic-ftp client. */
export class FtpSession implements RemoteSession {
  readonly protocol = 'ftp';

  /** `exactTimes`: MDTM answers shared by the sessions of one server, so its listings need not ask them again. */
  constructor(
    readonly client: Client,
    private readonly exactTimes?: ExactTimes,
  ) {}

  list(opts: ListOptions): Promise<RemoteEntry[]> {
    return listRemote(this.client, opts, this.exactTimes);
  }

  download(remotePath: string, localPartPath: string, opts: DownloadOptions): Promise<DownloadResult> {
    return downloadToFile(this.client, remotePath, localPartPath, opts);
  }

  /** SIZE (files only; 550 when there is none) and MDTM. */
  async stat(remotePath: string): Promise<RemoteStat | undefined> {
    assertSafeCommandArg(remotePath);
    try {
      const size = await this.client.size(remotePath);
      const modified = await this.client.lastMod(remotePath);
      return { size, mtimeMs: modified.getTime() };
    } catch (err) {
      if (err instanceof FTPError && (err.code === 550 || err.code === 551)) return undefined;
      throw classifyFtpError(err);
    }
  }

  delete(remotePath: string): Promise<void> {
    return deleteRemote(this.client, remotePath);
  }

  async renameIntoDir(remotePath: string, toDir: string): Promise<string> {
    await ensureRemoteDir(this.client, toDir);
    return renameRemote(this.client, remotePath, toDir);
  }
}

/** A pool of FTP/FTPS sessions to one server: FtpPool behind the RemoteClient interface. */
export class FtpRemoteClient extends PooledRemoteClient<Client> {
  constructor(endpoint: FtpEndpoint, options: RemotePoolOptions) {
    const pool = new FtpPool(endpoint, options);
    const exactTimes = new ExactTimes();
    super(
      'ftp',
      `ftp://${describeEndpoint(endpoint)}`,
      pool,
      (client) => new FtpSession(client, exactTimes),
      (err) => pool.cleanError(err),
    );
  }
}
