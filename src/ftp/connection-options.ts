import type { AccessOptions } from 'basic-ftp';

/** Where and how to log in to one FTP server. The password arrives at runtime and is never logged. */
export interface FtpEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `true`: explicit FTPS (AUTH TLS); `'implicit'`: legacy implicit TLS; `false`: plain FTP. */
  secure: boolean | 'implicit';
  /** Control/data socket inactivity timeout; basic-ftp's default (30 s) when absent. */
  timeoutMs?: number;
}

/** A log-safe label for an endpoint: `user@host:port` (no password). */
export function describeEndpoint(endpoint: FtpEndpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}${endpoint.secure ? ' (tls)' : ''}`;
}

/** A key that tells pools apart: same server, same user, same TLS mode → same pool. */
export function endpointKey(endpoint: FtpEndpoint): string {
  return `${endpoint.secure === 'implicit' ? 'ftps' : endpoint.secure ? 'ftpes' : 'ftp'}://${endpoint.user}@${endpoint.host}:${endpoint.port}`;
}

/** basic-ftp's `access()` options for an endpoint. */
export function toAccessOptions(endpoint: FtpEndpoint): AccessOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    secure: endpoint.secure,
  };
}

/** Replaces every occurrence of `secret` in `text`; servers or libraries may echo what they were sent. */
export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('***');
}
