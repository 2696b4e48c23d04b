import { createHash } from 'node:crypto';
import type { SecureVersion } from 'node:tls';
import type { AccessOptions } from 'basic-ftp';

/** How an FTPS client checks the server (used only when `secure` is on). */
export interface FtpTlsOptions {
  /** PEM of the CA certificate(s) to trust instead of Node's bundled roots (the contents, not a path). */
  ca?: string;
  /** Refuse a certificate that does not verify. Default true; false is for tests and emergencies only. */
  rejectUnauthorized?: boolean;
  /** Name the certificate must carry (and SNI) when it differs from `host`, e.g. when connecting by IP. */
  servername?: string;
  /** Lowest TLS version accepted, e.g. `TLSv1.2`. Node's default when absent. */
  minVersion?: SecureVersion;
}

/** Where and how to log in to one FTP server. The password arrives at runtime and is never logged. */
export interface FtpEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `true`: explicit FTPS (AUTH TLS); `'implicit'`: legacy implicit TLS; `false`: plain FTP. */
  secure: boolean | 'implicit';
  /** Certificate checks for FTPS; Node's defaults (system roots, verification on) when absent. */
  tls?: FtpTlsOptions;
  /** Control/data socket inactivity timeout; basic-ftp's default (30 s) when absent. */
  timeoutMs?: number;
}

/** A log-safe label for an endpoint: `user@host:port` (no password). */
export function describeEndpoint(endpoint: FtpEndpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}${endpoint.secure ? ' (tls)' : ''}`;
}

/** A key that tells pools apart: same server, same user, same TLS mode and checks → same pool. */
export function endpointKey(endpoint: FtpEndpoint): string {
  const base = `${endpoint.secure === 'implicit' ? 'ftps' : endpoint.secure ? 'ftpes' : 'ftp'}://${endpoint.user}@${endpoint.host}:${endpoint.port}`;
  if (!endpoint.secure || endpoint.tls === undefined) return base;
  const checks = createHash('sha256')
    .update(JSON.stringify(toSecureOptions(endpoint)))
    .digest('hex')
    .slice(0, 16);
  return `${base}#tls-${checks}`;
}

/** basic-ftp's `access()` options for an endpoint. */
export function toAccessOptions(endpoint: FtpEndpoint): AccessOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    secure: endpoint.secure,
    ...(endpoint.secure ? { secureOptions: toSecureOptions(endpoint) } : {}),
  };
}

/**
 * `tls.connect` options of an FTPS endpoint. basic-ftp keeps them for every data connection too (PBSZ 0 + PROT P
 * after login, data sockets with the same options and the control session's TLS session), so the data channel is
 * verified the same way. Verification is on unless `rejectUnauthorized: false` is given explicitly.
 */
export function toSecureOptions(endpoint: FtpEndpoint): NonNullable<AccessOptions['secureOptions']> {
  const tls = endpoint.tls ?? {};
  return {
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {}),
  };
}
