// Configuration of FTPS checks and SFTP sources, and the endpoints built from them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, checkSecrets, getSource, parseConfig } from '../src/config';
import { remoteEndpointOf } from '../src/remote';
import { tempDir } from './helpers/servers';

const FP = `SHA256:${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`;

function parse(source: Record<string, unknown>, baseDir?: string) {
  return parseConfig({ sources: { s: source } }, {}, baseDir ? { baseDir } : {});
}

function issues(source: Record<string, unknown>): string[] {
  try {
    parse(source);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

test('sftp source: port 22 by default, files resolved, endpoint with key, passphrase and known_hosts', () => {
  const dir = tempDir('ftp-ingest-cfg-');
  fs.writeFileSync(path.join(dir, 'id'), 'KEY\n');
  fs.writeFileSync(path.join(dir, 'kh'), '[h]:22 ssh-ed25519 AAAA\n');
  const config = parse(
    { protocol: 'sftp', host: 'h', user: 'u', privateKeyFile: 'id', passphraseEnv: 'PP', knownHosts: 'kh' },
    dir,
  );
  const source = getSource(config, 's');
  assert.equal(source.port, 22);
  assert.equal(source.privateKeyFile, path.join(dir, 'id'));
  assert.deepEqual(remoteEndpointOf(source, { PP: 'secret' }), {
    protocol: 'sftp',
    host: 'h',
    port: 22,
    user: 'u',
    hostKeys: { knownHosts: '[h]:22 ssh-ed25519 AAAA\n' },
    privateKey: 'KEY',
    passphrase: 'secret',
  });
  assert.throws(() => checkSecrets(config, {}), /PP/);
});

test('ftps source: tls settings reach the endpoint, the CA read from its file', () => {
  const dir = tempDir('ftp-ingest-cfg-');
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'PEM');
  const source = getSource(
    parse({ secure: true, tls: { ca: 'ca.pem', servername: 'ftp.example', minVersion: 'TLSv1.3' } }, dir),
    's',
  );
  assert.deepEqual(remoteEndpointOf(source, {}), {
    protocol: 'ftp',
    host: '127.0.0.1',
    port: 21,
    user: 'anonymous',
    password: '',
    secure: true,
    tls: { ca: 'PEM', servername: 'ftp.example', minVersion: 'TLSv1.3' },
  });
});

test('bad remote settings are refused, each naming its setting', () => {
  assert.deepEqual(issues({ protocol: 'sftp', hostKeyFingerprint: FP }), []);
  assert.match(issues({ protocol: 'sftp' }).join('\n'), /knownHosts.*exactly one of knownHosts and hostKeyFingerprint/);
  assert.match(issues({ protocol: 'sftp', knownHosts: 'a', hostKeyFingerprint: FP }).join('\n'), /hostKeyFingerprint/);
  assert.match(issues({ protocol: 'sftp', hostKeyFingerprint: 'MD5:aa' }).join('\n'), /hostKeyFingerprint.*SHA256/);
  assert.match(issues({ protocol: 'scp' }).join('\n'), /protocol/);
  assert.match(issues({ protocol: 'sftp', hostKeyFingerprint: FP, secure: true }).join('\n'), /secure/);
  assert.match(issues({ protocol: 'sftp', hostKeyFingerprint: FP, tls: {} }).join('\n'), /tls: .*only to FTP/);
  assert.match(issues({ knownHosts: 'kh' }).join('\n'), /knownHosts: .*only to SFTP/);
  assert.match(issues({ tls: { ca: 'x' } }).join('\n'), /tls: .*needs FTPS/);
  assert.match(issues({ secure: true, tls: { minVersion: 'TLSv1' } }).join('\n'), /tls\.minVersion/);
  assert.match(issues({ secure: true, tls: { verify: true } }).join('\n'), /tls/);
  assert.match(
    issues({ protocol: 'sftp', hostKeyFingerprint: FP, privateKeyEnv: 'K', privateKeyFile: 'f' }).join('\n'),
    /privateKeyFile: .*privateKeyEnv or privateKeyFile/,
  );
});
