// Rules across fields (DESIGN.md §5 and friends), and the start-up checks that need the file system (TLS
// certificate files exist and are readable). They run on the raw input, beside the schema, so that one pass
// reports them together with the field errors; a rule whose inputs are themselves invalid stays silent.
import fs from 'node:fs';
import path from 'node:path';
import { formatPath, isRecord, type Problem, type Raw } from './errors';
import { checkId, DEFAULT_PROCESSED_DIR, DEFAULT_WORK_DIR, leaseFields, remoteDir, type SourcesForm } from './schema';
import { formatDuration, parseRedisUrl } from './values';

/** Margin of the lease rule: time for a worker to notice a lost heartbeat and renew. */
export const LEASE_MARGIN_MS = 5_000;

export function crossFieldProblems(raw: Raw, form: SourcesForm, baseDir: string): Problem[] {
  return [
    ...sourceEntries(raw.sources, form).flatMap(([key, source]) => sourceProblems(['sources', key], source)),
    ...idProblems(raw.sources, form),
    ...secretRefProblems(['redis'], raw.redis, 'passwordEnv', 'passwordFile'),
    ...secretRefProblems(['temporal'], raw.temporal, 'apiKeyEnv', 'apiKeyFile'),
    ...localDirProblems(raw, baseDir),
    ...temporalTlsProblems(raw.temporal, baseDir),
    ...redisTlsProblems(raw.redis, baseDir),
  ];
}

function sourceEntries(sources: unknown, form: SourcesForm): [string | number, unknown][] {
  if (form === 'list') return Array.isArray(sources) ? sources.map((s, i) => [i, s]) : [];
  return isRecord(sources) ? Object.entries(sources) : [];
}

function sourceProblems(at: PropertyKey[], source: unknown): Problem[] {
  if (!isRecord(source)) return [];
  return [
    ...leaseProblems(at, source),
    ...pollLeaseProblems(at, source),
    ...vanishProblems(at, source),
    ...secretRefProblems(at, source, 'passwordEnv', 'passwordFile'),
    ...secretRefProblems(at, source, 'privateKeyEnv', 'privateKeyFile'),
    ...protocolProblems(at, source),
    ...renameProblems(at, source),
  ];
}

const SFTP_ONLY = ['privateKeyEnv', 'privateKeyFile', 'passphraseEnv', 'knownHosts', 'hostKeyFingerprint'] as const;
const FTPS_ONLY = ['tls'] as const;

/** Settings of the other protocol are refused; SFTP must pin its host key one way (unknown keys are refused). */
function protocolProblems(at: PropertyKey[], source: Raw): Problem[] {
  const sftp = source.protocol === 'sftp';
  const problems: Problem[] = [];
  for (const key of sftp ? FTPS_ONLY : SFTP_ONLY) {
    if (source[key] === undefined) continue;
    problems.push({
      path: [...at, key],
      problem: `${key} applies only to ${sftp ? 'FTP/FTPS' : 'SFTP'} sources`,
      allowed: sftp ? 'remove it (SFTP is always encrypted; pin the host key instead)' : 'protocol: sftp, or remove it',
    });
  }
  if (sftp && source.secure !== undefined && source.secure !== false) {
    problems.push({
      path: [...at, 'secure'],
      problem: 'secure is for FTPS',
      allowed: 'false or absent with protocol: sftp',
    });
  }
  if (!sftp && source.tls !== undefined && (source.secure === undefined || source.secure === false)) {
    problems.push({ path: [...at, 'tls'], problem: 'tls needs FTPS', allowed: "secure: true or 'implicit'" });
  }
  if (sftp && (source.knownHosts === undefined) === (source.hostKeyFingerprint === undefined)) {
    problems.push({
      path: [...at, source.knownHosts === undefined ? 'knownHosts' : 'hostKeyFingerprint'],
      problem:
        'an SFTP source pins its host key with exactly one of knownHosts and hostKeyFingerprint (unknown keys are refused)',
      allowed: 'knownHosts: <known_hosts file> or hostKeyFingerprint: "SHA256:…"',
    });
  }
  return problems;
}

/**
 * The lease must outlive the gaps in which nothing renews it: a heartbeat timeout, then a retry backoff of up
 * to activityMaxInterval. Otherwise another cluster may claim a file this cluster is still retrying.
 */
function leaseProblems(at: PropertyKey[], source: Raw): Problem[] {
  const retry = leaseFields.retryTimeout.safeParse(source.retryTimeout);
  const heartbeat = leaseFields.heartbeatTimeout.safeParse(source.heartbeatTimeout);
  const maxInterval = leaseFields.activityMaxInterval.safeParse(source.activityMaxInterval);
  if (!retry.success || !heartbeat.success || !maxInterval.success) return [];
  const floor = heartbeat.data + maxInterval.data + LEASE_MARGIN_MS;
  if (retry.data > floor) return [];
  const [r, h, m] = [retry.data, heartbeat.data, maxInterval.data].map(formatDuration);
  return [
    {
      path: [...at, 'retryTimeout'],
      problem:
        `retryTimeout (${r}) must be longer than heartbeatTimeout (${h}) + activityMaxInterval (${m}) + ` +
        `${formatDuration(LEASE_MARGIN_MS)} margin = ${formatDuration(floor)}, so a file still being retried keeps its lease`,
      allowed: `more than ${formatDuration(floor)} (or shorten heartbeatTimeout / activityMaxInterval)`,
    },
  ];
}

/**
 * Each poll extends the leases of the cluster's files whose workflows still run: the lease must outlive the
 * time between two polls, or a file merely waiting for a worker would lose its claim.
 */
function pollLeaseProblems(at: PropertyKey[], source: Raw): Problem[] {
  const retry = leaseFields.retryTimeout.safeParse(source.retryTimeout);
  const poll = leaseFields.pollInterval.safeParse(source.pollInterval);
  if (!retry.success || !poll.success) return [];
  const floor = poll.data + LEASE_MARGIN_MS;
  if (retry.data > floor) return [];
  const [r, p] = [retry.data, poll.data].map(formatDuration);
  return [
    {
      path: [...at, 'retryTimeout'],
      problem:
        `retryTimeout (${r}) must be longer than pollInterval (${p}) + ${formatDuration(LEASE_MARGIN_MS)} margin = ` +
        `${formatDuration(floor)}, so that every poll renews the leases of files still in flight`,
      allowed: `more than ${formatDuration(floor)} (or poll more often)`,
    },
  ];
}

/** A poll must get a chance or two to see a file again before it is declared vanished. */
function vanishProblems(at: PropertyKey[], source: Raw): Problem[] {
  const vanish = leaseFields.pollInterval.safeParse(source.vanishAfter ?? '10m');
  const poll = leaseFields.pollInterval.safeParse(source.pollInterval);
  if (!vanish.success || !poll.success || vanish.data >= 2 * poll.data) return [];
  const [v, p] = [vanish.data, poll.data].map(formatDuration);
  return [
    {
      path: [...at, 'vanishAfter'],
      problem: `vanishAfter (${v}) must be at least two poll intervals (2 × ${p})`,
      allowed: `at least ${formatDuration(2 * poll.data)}`,
    },
  ];
}

function secretRefProblems(at: PropertyKey[], section: unknown, envKey: string, fileKey: string): Problem[] {
  if (!isRecord(section) || section[envKey] === undefined || section[fileKey] === undefined) return [];
  return [
    { path: [...at, fileKey], problem: `set together with ${envKey}`, allowed: `${envKey} or ${fileKey}, not both` },
  ];
}

function renameProblems(at: PropertyKey[], source: Raw): Problem[] {
  const action = source.remoteAction;
  if (!isRecord(action) || action.type !== 'rename-to-dir') return [];
  const dir = remoteDir.safeParse(action.dir);
  const from = remoteDir.safeParse(source.remoteDir ?? '/');
  if (!dir.success || !from.success || dir.data !== from.data) return [];
  return [{ path: [...at, 'remoteAction', 'dir'], problem: 'is the remoteDir itself', allowed: 'another directory' }];
}

/** Ids key the ledger, schedules and local dirs: present, unique (also ignoring case, for case-blind disks). */
function idProblems(sources: unknown, form: SourcesForm): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const [key, source] of sourceEntries(sources, form)) {
    const at = form === 'map' ? ['sources', key] : ['sources', key, 'id'];
    const id = form === 'map' ? String(key) : isRecord(source) ? source.id : undefined;
    problems.push(...(typeof key === 'string' ? mapKeyProblems(at, key, source) : listIdProblems(at, id, source)));
    if (typeof id !== 'string') continue;
    const first = seen.get(id.toLowerCase());
    if (first === undefined) seen.set(id.toLowerCase(), formatPath(at));
    else problems.push({ path: at, problem: `duplicate source id (already used by ${first})`, allowed: 'a unique id' });
  }
  return problems;
}

function listIdProblems(at: PropertyKey[], id: unknown, source: unknown): Problem[] {
  return isRecord(source) && id === undefined ? [{ path: at, problem: 'required', allowed: 'a unique source id' }] : [];
}

function mapKeyProblems(at: PropertyKey[], key: string, source: unknown): Problem[] {
  const problems: Problem[] = [];
  const bad = checkId(key);
  if (bad) problems.push({ path: at, problem: 'the key of this source is not a valid id', allowed: bad });
  if (isRecord(source) && source.id !== undefined && source.id !== key) {
    problems.push({
      path: [...at, 'id'],
      problem: 'differs from its key in the sources map',
      allowed: `"${key}" or no id`,
    });
  }
  return problems;
}

/** Committing renames from workDir into processedDir: the two must be distinct trees. */
function localDirProblems(raw: Raw, baseDir: string): Problem[] {
  const workDir = raw.workDir ?? DEFAULT_WORK_DIR;
  const processedDir = raw.processedDir ?? DEFAULT_PROCESSED_DIR;
  if (typeof workDir !== 'string' || typeof processedDir !== 'string') return [];
  const work = path.resolve(baseDir, workDir);
  const processed = path.resolve(baseDir, processedDir);
  if (!isInside(work, processed) && !isInside(processed, work)) return [];
  return [
    {
      path: ['processedDir'],
      // Either of the two may be the one to move (and may come from FTP_INGEST_WORK_DIR): name where workDir is.
      problem: `is, contains or lies inside workDir (${work})`,
      allowed: 'a directory apart from workDir',
    },
  ];
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

// TLS of the Temporal and Redis connections: certificate files, cert with key, TLS with rediss, one user.

function temporalTlsProblems(temporal: unknown, baseDir: string): Problem[] {
  if (!isRecord(temporal) || !isRecord(temporal.tls)) return [];
  const tls = temporal.tls;
  const at = ['temporal', 'tls'];
  const problems = fileProblems(at, tls, ['ca', 'cert', 'key'], baseDir);
  const hasCert = tls.cert !== undefined;
  if (hasCert !== (tls.key !== undefined)) {
    problems.push({
      path: [...at, hasCert ? 'key' : 'cert'],
      problem: `required with ${hasCert ? 'cert' : 'key'} (a client certificate needs its private key)`,
      allowed: 'both cert and key (mTLS), or neither',
    });
  }
  return problems;
}

function redisTlsProblems(redis: unknown, baseDir: string): Problem[] {
  if (!isRecord(redis)) return [];
  const problems: Problem[] = [];
  let parsed: ReturnType<typeof parseRedisUrl> | undefined;
  try {
    parsed = parseRedisUrl(typeof redis.url === 'string' ? redis.url : 'redis://127.0.0.1:6379');
  } catch {
    parsed = undefined; // the url field reports it
  }
  if (isRecord(redis.tls)) {
    problems.push(...fileProblems(['redis', 'tls'], redis.tls, ['ca'], baseDir));
    if (parsed && !parsed.tls) {
      problems.push({
        path: ['redis', 'tls'],
        problem: 'set while redis.url does not use TLS',
        allowed: 'a rediss://, rediss+sentinel:// or rediss+cluster:// url, or no redis.tls',
        showGiven: false,
      });
    }
  }
  if (parsed?.user !== undefined && redis.user !== undefined) {
    problems.push({
      path: ['redis', 'user'],
      problem: 'set together with a user in redis.url',
      allowed: 'the user in redis.url or redis.user, not both',
    });
  }
  return problems;
}

function fileProblems(at: string[], section: Raw, keys: readonly string[], baseDir: string): Problem[] {
  return keys.flatMap((key): Problem[] => {
    const value = section[key];
    if (typeof value !== 'string' || value.trim() === '') return [];
    const file = path.resolve(baseDir, value);
    const problem = unreadable(file);
    return problem ? [{ path: [...at, key], problem: `${problem}: ${file}`, allowed: 'a readable file (PEM)' }] : [];
  });
}

/** Why `file` cannot be read, or undefined when it can. */
function unreadable(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isFile()) return 'not a file';
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`;
  }
}
