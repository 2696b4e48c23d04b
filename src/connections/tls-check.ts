// Why a TLS connection to Temporal failed, in operator terms. The SDK's clients say only "Failed to connect
// before the deadline" (grpc-js) or a raw transport error (the worker's core): after a failed connect, one TLS
// handshake with the same settings names the side that refused and the setting to look at.
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/client';

/** A TLS handshake that failed: what happened, and the `temporal.tls` settings that decide it. */
export interface TlsRefusal {
  readonly reason: string;
  readonly settings: string;
}

/** How long a server may take to refuse our certificate after a TLS 1.3 handshake completed on our side. */
const ALERT_GRACE_MS = 500;

const SERVER_CERT = 'temporal.tls.ca / temporal.tls.serverName';
const CLIENT_CERT = 'temporal.tls.cert / temporal.tls.key';

/** Node's codes of a server certificate that our side refused. */
const SERVER_CERT_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|HOSTNAME_MISMATCH)$/;

/**
 * One TLS handshake with `address` using the SDK's TLS settings. Resolves to the refusal, or undefined when
 * the handshake succeeds or the server is not reachable at all (then the address, not TLS, is at fault).
 */
export function checkTls(
  address: string,
  option: TLSConfig | true,
  timeoutMs: number,
): Promise<TlsRefusal | undefined> {
  const { host, port } = hostAndPort(address);
  const settings = option === true ? {} : option;
  return new Promise((resolve) => {
    let socket: tls.TLSSocket | undefined;
    let handshakeDone = false;
    const finish = (refusal: TlsRefusal | undefined): void => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(refusal);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    try {
      socket = tls.connect({
        host,
        port,
        // SNI takes no IP address; the certificate check uses `servername` when given, else the host.
        ...(settings.serverNameOverride ? { servername: settings.serverNameOverride } : {}),
        ...(settings.serverRootCACertificate ? { ca: Buffer.from(settings.serverRootCACertificate) } : {}),
        ...(settings.clientCertPair
          ? { cert: Buffer.from(settings.clientCertPair.crt), key: Buffer.from(settings.clientCertPair.key) }
          : {}),
        ALPNProtocols: ['h2'],
      });
    } catch (err) {
      // The files were read but are not a certificate or key Node can use (not PEM, a key of another cert).
      finish({ reason: `the client certificate or key cannot be used: ${messageOf(err)}`, settings: CLIENT_CERT });
      return;
    }
    socket.once('secureConnect', () => {
      handshakeDone = true;
      // TLS 1.3: the server checks our certificate after our side finished; its refusal arrives as an alert.
      setTimeout(() => finish(undefined), ALERT_GRACE_MS).unref();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => finish(refusalOf(err, handshakeDone)));
    socket.once('close', () => {
      if (handshakeDone) {
        finish({
          reason: 'the server closed the connection right after the TLS handshake: it refused the client certificate',
          settings: CLIENT_CERT,
        });
      }
    });
  });
}

function refusalOf(err: NodeJS.ErrnoException, handshakeDone: boolean): TlsRefusal | undefined {
  const code = err.code ?? '';
  const text = messageOf(err);
  if (SERVER_CERT_CODES.test(code)) {
    return { reason: `the server's certificate is refused: ${text}`, settings: SERVER_CERT };
  }
  if (/CERTIFICATE_REQUIRED/.test(code)) {
    return { reason: 'the server requires a client certificate (mTLS) and none is configured', settings: CLIENT_CERT };
  }
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/.test(code)) {
    return { reason: `the server refused the client certificate: ${text}`, settings: CLIENT_CERT };
  }
  // Reset or refused before any TLS: the server is away, not a TLS problem.
  if (!handshakeDone && !code.startsWith('ERR_SSL') && !code.startsWith('ERR_TLS') && err.syscall !== undefined) {
    return undefined;
  }
  if (handshakeDone) {
    return { reason: `the server ended the connection after the TLS handshake: ${text}`, settings: CLIENT_CERT };
  }
  return { reason: `the TLS handshake failed: ${text}`, settings: 'temporal.tls' };
}

/** An OpenSSL error message without its "error:0A000412:SSL routines:" prefix. */
function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .replace(/^(\S+:)?error:[0-9A-F]+:[^:]*:/i, '')
    .split('\n')[0]!
    .trim();
}

/** `host:port` (or `[v6]:port`); Temporal's port when none is given. */
function hostAndPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(address);
  return { host: match?.[1] || 'localhost', port: Number(match?.[2] ?? 7233) };
}
