// Host-key pinning for SFTP: an OpenSSH known_hosts file or a "SHA256:…" fingerprint. Unknown keys are refused.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HostKeyRefusal } from './errors';

/** How the server's host key is checked. Exactly one of the two. */
export type HostKeyPolicy =
  /** Contents of an OpenSSH known_hosts file (plain or hashed host names, `[host]:port`, `@revoked`). */
  | { knownHosts: string }
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` and `ssh` print it. */
  | { fingerprint: string };

export type HostKeyVerdict = { ok: true } | { ok: false; code: HostKeyRefusal; reason: string };

/** The OpenSSH SHA256 fingerprint of a host key blob (SSH wire format). */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Whether `text` is a well-formed `SHA256:` fingerprint (32 bytes of base64). */
export function isSha256Fingerprint(text: string): boolean {
  const match = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(text);
  return match !== null;
}

interface KnownHostLine {
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string;
  keyType: string;
  key: Buffer;
}

/** Parses known_hosts lines; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    }
    const [patterns, keyType, keyText] = fields;
    if (!patterns || !keyType || !keyText) continue;
    const key = Buffer.from(keyText, 'base64');
    if (key.length === 0) continue;
    out.push({ marker, patterns, keyType, key });
  }
  return out;
}

/** `host` for port 22, else `[host]:port`, as OpenSSH writes and looks up known_hosts entries. */
function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, text: string): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i').test(text);
}

function hashedMatch(entry: string, token: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, host))
  const [, kind, salt, hash] = entry.split('|');
  if (kind !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a known_hosts host field (comma list, `!negation`, globs, hashed) names `host:port`. */
function linesNames(patterns: string, host: string, port: number): boolean {
  const token = hostToken(host, port);
  if (patterns.startsWith('|')) return hashedMatch(patterns, token);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (globMatch(body, token)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Checks a server's host key blob against the policy, for `host:port`. */
export function verifyHostKey(policy: HostKeyPolicy, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const presented = sha256Fingerprint(keyBlob);
  if ('fingerprint' in policy) {
    const pinned = policy.fingerprint.replace(/=+$/, '');
    if (pinned === presented) return { ok: true };
    return {
      ok: false,
      code: 'fingerprint-mismatch',
      reason: `the server presented ${presented}, the configured fingerprint is ${pinned}`,
    };
  }
  const lines = parseKnownHosts(policy.knownHosts).filter((l) => linesNames(l.patterns, host, port));
  if (lines.some((l) => l.marker === 'revoked' && l.key.equals(keyBlob))) {
    return { ok: false, code: 'revoked', reason: `host key ${presented} is marked @revoked in knownHosts` };
  }
  const plain = lines.filter((l) => l.marker === undefined);
  if (plain.some((l) => l.key.equals(keyBlob))) return { ok: true };
  if (plain.length > 0) {
    return {
      ok: false,
      code: 'key-mismatch',
      reason: `host key ${presented} does not match the ${plain.length} key(s) knownHosts has for ${hostToken(host, port)}`,
    };
  }
  return {
    ok: false,
    code: 'unknown-host',
    reason: `${hostToken(host, port)} is not in knownHosts (its key is ${presented}); unknown host keys are refused`,
  };
}
