// A source's configuration (plus its secrets, read now) as the endpoint of its RemoteClient.
import fs from 'node:fs';
import { sourcePassphrase, sourcePassword, sourcePrivateKey } from '../config/secrets';
import type { SourceConfig } from '../config/types';
import { FtpPermanentError } from '../ftp/errors';
import type { RemoteEndpoint } from './index';

function readSetting(file: string, setting: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    // A configuration problem on this host, not the file's: permanent, naming the setting and the path only.
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new FtpPermanentError(`cannot read ${setting} file ${file}: ${code}`, undefined);
  }
}

/** The endpoint of `source` with its secrets resolved (call it where the connection is made, never in a workflow). */
export function remoteEndpointOf(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): RemoteEndpoint {
  const { host, port, user } = source;
  const at = `sources.${source.id}`;
  if (source.protocol === 'sftp') {
    const password = sourcePassword(source, env);
    const privateKey = sourcePrivateKey(source, env);
    const passphrase = sourcePassphrase(source, env);
    return {
      protocol: 'sftp',
      host,
      port,
      user,
      hostKeys:
        source.hostKeyFingerprint !== undefined
          ? { fingerprint: source.hostKeyFingerprint }
          : { knownHosts: source.knownHosts ? readSetting(source.knownHosts, `${at}.knownHosts`) : '' },
      ...(password !== '' ? { password } : {}),
      ...(privateKey !== undefined ? { privateKey } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
    };
  }
  const tls = source.tls;
  return {
    protocol: 'ftp',
    host,
    port,
    user,
    password: sourcePassword(source, env),
    secure: source.secure,
    ...(tls
      ? {
          tls: {
            ...(tls.ca !== undefined ? { ca: readSetting(tls.ca, `${at}.tls.ca`) } : {}),
            ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
            ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
            ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {}),
          },
        }
      : {}),
  };
}
