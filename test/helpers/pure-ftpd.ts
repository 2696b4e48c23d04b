import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/stack/ports';
import { pureFtpdBinary } from '../../src/stack/tools';
import { startForkingServer } from './forking-server';
import { tempDir } from './servers';

/** The system user that owns the served files (pure-ftpd maps the virtual user to it). */
const SYSTEM_USER = 'ftpu';

export interface PureFtpdServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Local folder that is the virtual user's (chrooted) home. */
  readonly root: string;
  /** Writes a file under root (creating folders), owned by the FTP user so it can rename/delete it. */
  put(relPath: string, content: string | Buffer, mtime?: Date): string;
  /**
   * Session processes the server has not reaped yet. pure-ftpd counts them against `-C` until then, and a
   * probe connection (waitForPort) or a just-closed client stays one for a moment.
   */
  sessions(): number;
  stop(): Promise<void>;
}

export interface PureFtpdOptions {
  /** `-C`: sessions allowed per client IP; the server answers 421 past it. */
  maxClientsPerIp?: number;
  /**
   * FTPS (explicit, AUTH TLS): `-Y level` with `certFile` (certificate and key in one PEM) as `-2`. Level 1 accepts
   * plain and TLS sessions, 2 refuses plain logins, 3 also refuses cleartext data channels.
   */
  tls?: { level: 1 | 2 | 3; certFile: string };
}

/** Why pure-ftpd cannot run here, or undefined when it can (tests skip with this text). */
export function pureFtpdUnavailable(): string | undefined {
  try {
    pureFtpdBinary();
  } catch (err) {
    return (err as Error).message;
  }
  if (!fs.existsSync('/usr/bin/pure-pw') && spawnSync('pure-pw', ['--help']).error) return 'pure-pw not found';
  if (process.getuid?.() !== 0) return 'pure-ftpd needs root here (it chroots and switches to the ftp user)';
  return undefined;
}

/**
 * A real pure-ftpd on loopback with one virtual user, its own control port, passive range and temp dir;
 * no anonymous login. Stopped when the test file ends, pass or fail.
 */
export async function testPureFtpd(options: PureFtpdOptions = {}): Promise<PureFtpdServer> {
  const { uid, gid } = ensureSystemUser();
  const dir = tempDir('ftp-ingest-pureftpd-');
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.chownSync(root, uid, gid);
  const user = 'tester';
  const password = crypto.randomBytes(12).toString('base64url');
  createVirtualUser(dir, user, password, root);

  const port = await freePort();
  const pasvLow = await freePort();
  const args = [
    ...['-l', `puredb:${path.join(dir, 'pdb')}`],
    ...['-S', `127.0.0.1,${port}`],
    ...['-p', `${pasvLow}:${pasvLow + 30}`],
    '-E', // no anonymous
    '-H', // don't resolve peer names
    '-A', // chroot everyone
    ...['-C', String(options.maxClientsPerIp ?? 10)],
    ...['-I', '1'], // idle sessions end after a minute, should anything be left behind
    ...(options.tls ? ['-Y', String(options.tls.level), '-2', options.tls.certFile] : []),
  ];
  const { process: server, stop } = await startForkingServer('pure-ftpd', pureFtpdBinary(), args, port);
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    root,
    put: (relPath, content, mtime) => putOwned(root, relPath, content, mtime, uid, gid),
    sessions: () => childCount(server.process.pid),
    stop,
  };
}

function childCount(pid: number | undefined): number {
  if (!pid) return 0;
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).length;
}

function ensureSystemUser(): { uid: number; gid: number } {
  if (spawnSync('id', ['-u', SYSTEM_USER]).status !== 0) {
    const made = spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', SYSTEM_USER], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`useradd ${SYSTEM_USER} failed: ${made.stderr}`);
  }
  const id = (flag: string): number => Number(spawnSync('id', [flag, SYSTEM_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

function createVirtualUser(dir: string, user: string, password: string, home: string): void {
  const passwd = path.join(dir, 'passwd');
  const run = (args: string[], input?: string): void => {
    const result = spawnSync('pure-pw', args, { input, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`pure-pw ${args[0]} failed: ${result.stderr}`);
  };
  run(['useradd', user, '-u', SYSTEM_USER, '-d', home, '-f', passwd], `${password}\n${password}\n`);
  useCheapHash(passwd, password);
  run(['mkdb', path.join(dir, 'pdb'), '-f', passwd]);
}

// pure-pw hashes with argon2id at ~800 MB / several seconds per login: parallel logins then time out on a
// small test machine. pure-ftpd also checks crypt(3) hashes, so swap in SHA-512-crypt when openssl exists.
function useCheapHash(passwd: string, password: string): void {
  const hashed = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: password, encoding: 'utf8' });
  if (hashed.status !== 0) return;
  const [name, , ...rest] = fs.readFileSync(passwd, 'utf8').trim().split(':');
  fs.writeFileSync(passwd, `${[name, hashed.stdout.trim(), ...rest].join(':')}\n`, { mode: 0o600 });
}

function putOwned(
  root: string,
  relPath: string,
  content: string | Buffer,
  mtime: Date | undefined,
  uid: number,
  gid: number,
): string {
  const full = path.join(root, relPath);
  const missing: string[] = [];
  for (let dir = path.dirname(full); dir !== root && !fs.existsSync(dir); dir = path.dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    fs.mkdirSync(dir);
    fs.chownSync(dir, uid, gid);
  }
  fs.writeFileSync(full, content);
  fs.chownSync(full, uid, gid);
  if (mtime) fs.utimesSync(full, mtime, mtime);
  return full;
}
