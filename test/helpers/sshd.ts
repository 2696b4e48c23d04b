// A real OpenSSH server (Debian's sshd) on a free loopback port, with its own host key, an internal-sftp subsystem
// and one chrooted test user that logs in with a password or a key. Stopped when the test file ends.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { freePort } from '../../src/stack/ports';
import { startForkingServer } from './forking-server';

const SSHD = '/usr/sbin/sshd';
/** The system user of the tests: no shell login, chrooted to its test directory, SFTP only. */
const TEST_USER = 'ftpi-sftp';
// sshd refuses a ChrootDirectory with any group/world-writable component (so nothing under /tmp).
const BASE_DIR = '/var/lib/ftp-ingest-test-sshd';

export interface SshdServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The client's private key (OpenSSH format), encrypted with `keyPassphrase`. */
  readonly privateKey: string;
  readonly keyPassphrase: string;
  /** A private key the server does not know. */
  readonly strangerKey: string;
  /** The server's host public key line (`ssh-ed25519 AAAA…`), its blob and fingerprint. */
  readonly hostPublicKey: string;
  readonly hostKeyFingerprint: string;
  /** A known_hosts line for this server (`[127.0.0.1]:port ssh-ed25519 AAAA…`). */
  readonly knownHostsLine: string;
  /** The directory the user sees as `/data` (writable by it); the chroot itself is root-owned. */
  readonly dataDir: string;
  /** Writes a file under `/data` (creating folders), owned by the test user. */
  put(relPath: string, content: string | Buffer, mtime?: Date): string;
  /** Creates a folder (and its parents) under `/data`, owned by the test user. */
  mkdir(relPath: string): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], input?: string): string {
  const result = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (result.error) throw new Error(`${cmd} failed: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** Why sshd cannot run here, or undefined. The SFTP tests fail with this text (they never skip). */
export function sshdUnavailable(): string | undefined {
  if (!fs.existsSync(SSHD)) return `${SSHD} not found: apt-get install -y openssh-server (scripts/setup.js does)`;
  if (process.getuid?.() !== 0) return 'the sshd tests need root (a chrooted test user, privilege separation)';
  if (spawnSync('ssh-keygen', ['-?']).error) return 'ssh-keygen not found';
  return undefined;
}

function ensureUser(password: string): { uid: number; gid: number } {
  if (spawnSync('id', ['-u', TEST_USER]).status !== 0) {
    run('useradd', ['-M', '-d', '/data', '-s', '/usr/sbin/nologin', TEST_USER]);
  }
  // A password also unlocks the account: sshd refuses key logins to a locked account ('!' in shadow).
  run('chpasswd', [], `${TEST_USER}:${password}\n`);
  const id = (flag: string): number => Number(run('id', [flag, TEST_USER]).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function keygen(file: string, passphrase: string, comment: string): void {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', file]);
}

export async function testSshd(): Promise<SshdServer> {
  const unavailable = sshdUnavailable();
  if (unavailable) throw new Error(unavailable);
  fs.mkdirSync(BASE_DIR, { recursive: true, mode: 0o755 });
  fs.chmodSync(BASE_DIR, 0o755);
  const dir = fs.mkdtempSync(path.join(BASE_DIR, 'run-'));
  fs.chmodSync(dir, 0o755); // the user reads authorized_keys here
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory

  const password = crypto.randomBytes(12).toString('base64url');
  const { uid, gid } = ensureUser(password);
  const chroot = path.join(dir, 'chroot');
  const dataDir = path.join(chroot, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(chroot, 0o755);
  fs.chownSync(dataDir, uid, gid);

  keygen(path.join(dir, 'host_key'), '', 'ftp-ingest test host');
  const keyPassphrase = crypto.randomBytes(9).toString('base64url');
  keygen(path.join(dir, 'client_key'), keyPassphrase, 'ftp-ingest test client');
  keygen(path.join(dir, 'stranger_key'), '', 'unknown client');
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  fs.chmodSync(path.join(dir, 'authorized_keys'), 0o644);

  const mkdirOwned = (full: string): void => {
    const missing: string[] = [];
    for (let d = full; d !== dataDir && !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      fs.mkdirSync(d);
      fs.chownSync(d, uid, gid);
    }
  };

  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UseDNS no',
      'LogLevel VERBOSE',
      'MaxStartups 50',
      `AllowUsers ${TEST_USER}`,
      'Subsystem sftp internal-sftp',
      `Match User ${TEST_USER}`,
      `  ChrootDirectory ${chroot}`,
      '  ForceCommand internal-sftp',
      '  AllowTcpForwarding no',
      '  X11Forwarding no',
      '',
    ].join('\n'),
  );
  run(SSHD, ['-t', '-f', config]);
  const { stop } = await startForkingServer('sshd', SSHD, ['-D', '-e', '-f', config], port);
  const hostPublicKey = fs
    .readFileSync(path.join(dir, 'host_key.pub'), 'utf8')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  const hostKeyFingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'host_key.pub')]).split(
    /\s+/,
  )[1]!;
  return {
    host: '127.0.0.1',
    port,
    user: TEST_USER,
    password,
    privateKey: fs.readFileSync(path.join(dir, 'client_key'), 'utf8'),
    keyPassphrase,
    strangerKey: fs.readFileSync(path.join(dir, 'stranger_key'), 'utf8'),
    hostPublicKey,
    hostKeyFingerprint,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPublicKey}`,
    dataDir,
    put: (relPath, content, mtime) => {
      const full = path.join(dataDir, relPath);
      mkdirOwned(path.dirname(full));
      fs.writeFileSync(full, content);
      fs.chownSync(full, uid, gid);
      if (mtime) fs.utimesSync(full, mtime, mtime);
      return full;
    },
    mkdir: (relPath) => {
      const full = path.join(dataDir, relPath);
      mkdirOwned(full);
      return full;
    },
    stop,
  };
}
