import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './servers';

/** A certificate authority made for one test run with the openssl CLI. */
export interface TestCa {
  /** PEM of the CA certificate. */
  readonly caPem: string;
  readonly caFile: string;
  /**
   * Issues a server certificate for `altNames` (e.g. `['IP:127.0.0.1', 'DNS:localhost']`), or with
   * `usage: 'clientAuth'` a client certificate (mTLS).
   */
  issue(name: string, altNames: string[], usage?: 'serverAuth' | 'clientAuth'): ServerCert;
}

export interface ServerCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate and key in one file (pure-ftpd's `-2 file`). */
  readonly bundleFile: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`openssl is needed for the TLS tests: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** Makes a fresh CA (EC P-256, valid one day) in a temp directory. */
export function testCa(commonName = 'ftp-ingest test CA'): TestCa {
  const dir = tempDir('ftp-ingest-ca-');
  openssl(
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', `/CN=${commonName}`],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ],
    dir,
  );
  const caFile = path.join(dir, 'ca.pem');
  return {
    caPem: fs.readFileSync(caFile, 'utf8'),
    caFile,
    issue(name, altNames, usage = 'serverAuth') {
      openssl(
        [
          ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
          ...['-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
        ],
        dir,
      );
      fs.writeFileSync(
        path.join(dir, `${name}.ext`),
        `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
      );
      openssl(
        [
          ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
          ...['-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`],
        ],
        dir,
      );
      const certFile = path.join(dir, `${name}.pem`);
      const keyFile = path.join(dir, `${name}.key`);
      const bundleFile = path.join(dir, `${name}-bundle.pem`);
      fs.writeFileSync(bundleFile, fs.readFileSync(certFile, 'utf8') + fs.readFileSync(keyFile, 'utf8'), {
        mode: 0o600,
      });
      return { certFile, keyFile, bundleFile };
    },
  };
}
