// The shape of the configuration file: strict objects (a misspelled key is an error, never ignored), a default
// for every field, durations as "90s" or ms. File keys have no unit suffix; load.ts renames them to `…Ms`.
// Each field failure is a custom issue whose message is the problem and whose `params.allowed` says what is
// accepted; errors.ts adds the path and the value given.
import { z } from 'zod';
import { PATTERN_FLAGS } from '../shared/patterns';
import { DURATION_FORMS, parseDuration, parseRedisUrl, RedisUrlError } from './values';

// ---- Defaults that are more than a single field's default ----

/** Built-in processors (DESIGN.md §9); callers that register their own pass the full list to the loader. */
export const processorNames: readonly string[] = ['checksum', 'delay', 'command'];

/** Relative to the config file's directory (or the working directory when there is no file). */
export const DEFAULT_WORK_DIR = '.data/work';
export const DEFAULT_PROCESSED_DIR = '.data/processed';

/** Environment variable the embedded demo sets to the password of its own FTP server. */
export const DEMO_PASSWORD_ENV = 'FTP_INGEST_DEMO_PASSWORD';

/** `sources` when none are configured: the embedded demo's FTP server (see the `demo` command). */
const DEFAULT_SOURCES = [
  {
    id: 'demo',
    host: '127.0.0.1',
    port: 2121,
    user: 'ingest',
    passwordEnv: DEMO_PASSWORD_ENV,
    processor: { name: 'delay' },
  },
];

// ---- Fields ----

/** Records a problem on the value being checked. */
function invalid(ctx: z.RefinementCtx, problem: string, allowed: string, path?: PropertyKey[]): void {
  ctx.addIssue({ code: 'custom', message: problem, params: { allowed }, ...(path ? { path } : {}) });
}

/** A duration in the file ("90s" or ms); milliseconds out. */
function duration(min = 0) {
  return z.union([z.string(), z.number()]).transform((value, ctx): number => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      const unitless = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value);
      invalid(ctx, unitless ? 'duration without a unit (write "60s" for seconds)' : 'not a duration', DURATION_FORMS);
      return z.NEVER;
    }
    if (ms < min) invalid(ctx, 'too short', `at least ${min}ms (${DURATION_FORMS})`);
    return ms;
  });
}

/** Largest allowed `smallFileMaxBytes` (16 MiB). */
export const SMALL_FILE_MAX_BYTES_LIMIT = 16 * 1024 * 1024;

/** An integer in [min, max]; one message states the whole range. */
function intRange(min: number, max?: number) {
  const allowed = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return z.number().superRefine((n, ctx) => {
    if (!Number.isInteger(n)) invalid(ctx, 'not an integer', allowed);
    else if (n < min || (max !== undefined && n > max)) invalid(ctx, 'out of range', allowed);
  });
}

/** One of a fixed set of values (booleans included), with the set named in the message. */
function oneOf<const T extends string | boolean>(values: readonly T[]) {
  const allowed = values.map((v) => JSON.stringify(v)).join(' | ');
  return z.unknown().transform((value, ctx): T => {
    if (values.includes(value as T)) return value as T;
    invalid(ctx, 'not an allowed value', allowed);
    return z.NEVER;
  });
}

/** A string matching `pattern`, described by `allowed`. */
function matching(pattern: RegExp, allowed: string) {
  return z.string().superRefine((s, ctx) => {
    if (!pattern.test(s)) invalid(ctx, 'not valid', allowed);
  });
}

const ID_ALLOWED = '1 to 64 characters from A-Z a-z 0-9 _ . - (not only dots)';
const ID = /^(?!\.+$)[A-Za-z0-9_.-]{1,64}$/;

/** Source and cluster ids: they end up in Redis keys, workflow ids and local paths (hence no "." or ".."). */
const idField = matching(ID, ID_ALLOWED);

/** Validates an id that is not a schema field (a key of the `sources` map). */
export function checkId(id: string): string | undefined {
  return ID.test(id) ? undefined : ID_ALLOWED;
}

const envVarName = matching(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name ([A-Za-z_][A-Za-z0-9_]*)');

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const nonEmpty = z.string().superRefine((s, ctx) => {
  if (s.trim() === '' || CONTROL.test(s)) invalid(ctx, 'empty or has control characters', 'a non-empty string');
});

const hostField = matching(/^[A-Za-z0-9.:[\]_-]+$/, 'a host name or IP address');

/** "host:port" or "[v6]:port". */
const hostPort = matching(
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/,
  'host:port, e.g. "127.0.0.1:7233" or "temporal.example.com:7233"',
);

/** An absolute remote directory, normalized to "/" or "/a/b"; ".." segments refused. */
export const remoteDir = z.string().transform((s, ctx): string => {
  const segments = s.split('/').filter((seg) => seg !== '' && seg !== '.');
  if (!s.startsWith('/') || segments.includes('..') || CONTROL.test(s)) {
    invalid(ctx, 'not an absolute remote path', 'a path starting with "/", without ".." or control characters');
    return z.NEVER;
  }
  return `/${segments.join('/')}`;
});

/** A JavaScript regular expression source, checked by compiling it as the filters do. */
const regexSource = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s, PATTERN_FLAGS);
  } catch (err) {
    invalid(
      ctx,
      (err as Error).message,
      'a JavaScript regular expression (unicode mode: no needless escapes like \\_)',
    );
  }
});

const timeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    invalid(ctx, 'unknown time zone', 'an IANA time zone name such as "UTC" or "Europe/Berlin"');
  }
});

/** A Redis URL of one of the forms of values.ts (one node, Sentinel, Cluster), without a password. */
const redisUrl = z.string().superRefine((s, ctx) => {
  try {
    parseRedisUrl(s);
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    invalid(ctx, err.problem, err.allowed);
  }
});

// ---- Sections ----

/** The durations of the lease rules (rules.ts checks them together). */
export const leaseFields = {
  pollInterval: duration(1_000).default(30_000),
  retryTimeout: duration(1_000).default(60_000),
  heartbeatTimeout: duration(1_000).default(20_000),
  activityMaxInterval: duration(1_000).default(10_000),
};

const markerSuffix = matching(/^[^/\s]+$/, 'a non-empty suffix without "/" or spaces, e.g. ".done"');

const readyMarker = z.strictObject({
  suffixes: z.array(markerSuffix).min(1),
});

/** Names a source may select: processors (`name`) and, from plugins, workflow processors (`workflow`). */
interface KnownProcessors {
  processors: readonly string[];
  workflows: readonly string[];
}

const NO_PROCESSORS: KnownProcessors = { processors: [], workflows: [] };

function processorObject({ processors, workflows }: KnownProcessors) {
  return z.strictObject({
    name: z
      .string()
      .superRefine((name, ctx) => {
        if (!processors.includes(name)) invalid(ctx, 'unknown processor', `one of ${processors.join(', ')}`);
      })
      .optional(),
    workflow: z
      .string()
      .superRefine((name, ctx) => {
        if (!workflows.includes(name)) {
          const allowed = workflows.length > 0 ? `one of ${workflows.join(', ')}` : 'none: no plugin adds a workflow';
          invalid(ctx, 'unknown workflow processor', `a workflow of a loaded plugin (${allowed})`);
        }
      })
      .optional(),
    options: z.record(z.string(), z.unknown()).default({}),
  });
}

function processor(known: KnownProcessors) {
  return processorObject(known)
    .superRefine((value, ctx) => {
      if ((value.name === undefined) === (value.workflow === undefined)) {
        invalid(ctx, 'set one of name and workflow', 'name (a processor) or workflow (a workflow processor)');
      }
      if (value.name === 'command') commandOptionsProblems(value.options, ctx);
    })
    .transform(({ name, workflow, options }) =>
      // A workflow processor keeps its workflow name as `name` too: results and logs name the processor by it.
      workflow === undefined ? { name: name ?? '', options } : { name: workflow, workflow, options },
    );
}

/** The built-in `command` processor's options, checked at start: otherwise every file would be REJECTED for them. */
function commandOptionsProblems(options: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const { command, permanentExitCodes } = options;
  if (!Array.isArray(command) || command.length === 0 || !command.every((arg) => typeof arg === 'string' && arg)) {
    invalid(
      ctx,
      'the command processor needs its command',
      'a list: program, then arguments; {file} is the local path',
      ['options', 'command'],
    );
  }
  const codes = permanentExitCodes;
  if (codes !== undefined && !(Array.isArray(codes) && codes.every((c) => Number.isInteger(c)))) {
    invalid(ctx, 'not a list of exit codes', 'a list of integers, e.g. [2, 3]', ['options', 'permanentExitCodes']);
  }
}

// FTPS certificate checks. `ca` is a file (PEM); verification is on unless rejectUnauthorized is false.
const ftpsTls = z.strictObject({
  ca: nonEmpty.optional(),
  rejectUnauthorized: z.boolean().optional(),
  servername: hostField.optional(),
  minVersion: oneOf(['TLSv1.2', 'TLSv1.3']).optional(),
});

const remoteActions = [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('delete') }),
  z.strictObject({ type: z.literal('rename-to-dir'), dir: remoteDir }),
] as const;

function sourceSchema(processors: KnownProcessors) {
  return z.strictObject({
    id: idField.optional(), // required in a list, the key in a map: rules.ts checks
    host: hostField.default('127.0.0.1'),
    port: intRange(1, 65_535).optional(), // 21, or 990 for implicit FTPS (load.ts)
    user: nonEmpty.default('anonymous'),
    passwordEnv: envVarName.optional(),
    passwordFile: nonEmpty.optional(),
    secure: oneOf([false, true, 'implicit']).default(false),
    // Absent means 'ftp'; optional so that an FTP source's parsed shape stays as it was.
    protocol: oneOf(['ftp', 'sftp']).optional(),
    tls: ftpsTls.optional(),
    privateKeyEnv: envVarName.optional(),
    privateKeyFile: nonEmpty.optional(),
    passphraseEnv: envVarName.optional(),
    knownHosts: nonEmpty.optional(),
    hostKeyFingerprint: matching(
      /^SHA256:[A-Za-z0-9+/]{43}=?$/,
      'an OpenSSH SHA256 fingerprint ("SHA256:" and 43 base64 characters, as ssh-keygen -lf prints it)',
    ).optional(),
    remoteDir: remoteDir.default('/'),
    recursive: z.boolean().default(false),
    maxDepth: intRange(1, 32).default(5),
    include: z.array(nonEmpty).min(1).default(['**']),
    exclude: z.array(nonEmpty).default([]),
    pattern: regexSource.nullable().default(null),
    includeHidden: z.boolean().default(false),
    minFileAge: duration().default(0),
    requireStableSize: z.boolean().default(true),
    // How long a listed version must stay unchanged before it is taken; default: the poll interval.
    stableTime: duration().optional(),
    readyMarker: readyMarker.nullable().default(null),
    order: oneOf(['none', 'name', 'mtime']).default('none'),
    versionPolicy: oneOf(['reprocess', 'ignore']).default('reprocess'),
    // Each claimed file adds events to the poll workflow's history (DESIGN.md §7): keep a poll bounded.
    maxAcceptPerPoll: intRange(1, 1_000).default(100),
    // Below the worker's workflow cache (250): a backlog is fed as files finish (the poll waits for room), and
    // files in flight beyond the cache would be evicted and replayed at every step (docs/PERFORMANCE.md).
    maxInFlight: intRange(1).default(200),
    ...leaseFields,
    maxTries: intRange(1).default(3),
    // Bounds on what could otherwise wait or run forever (DESIGN.md §4b).
    processTimeout: duration(1_000).default(3_600_000),
    // 8, not fewer: under a storm of worker deaths (or of heartbeat timeouts on a starved machine) a healthy file's
    // step can end unheard a few times in a row by chance; a file that kills its worker costs 8 deaths at most.
    maxCrashes: intRange(1, 100).default(8),
    // Files up to this size take the small-file fast path (docs/CONFIG.md); 0 = off. Capped: the whole file is
    // downloaded and processed inside one local activity, which holds its workflow task.
    smallFileMaxBytes: intRange(0, SMALL_FILE_MAX_BYTES_LIMIT).default(0),
    vanishAfter: duration(1_000).default(600_000),
    // Retention: a finished record of a file gone from the server is removed this long after it finished.
    forgetAfter: duration(60_000).default(7 * 24 * 3_600_000),
    maxConnections: intRange(1, 64).default(4),
    processor: processor(processors).prefault({ name: 'checksum' }),
    remoteAction: z.discriminatedUnion('type', remoteActions).default({ type: 'none' }),
    timeZone: timeZone.default('UTC'),
  });
}

export type SourceInput = z.input<ReturnType<typeof sourceSchema>>;
export type ParsedSource = z.output<ReturnType<typeof sourceSchema>>;

/** `temporal.tls` in object form: files for a private CA and a client certificate (mTLS). */
const temporalTlsFiles = z.strictObject({
  ca: nonEmpty.optional(),
  cert: nonEmpty.optional(),
  key: nonEmpty.optional(),
  serverName: nonEmpty.optional(),
});

const temporal = z.strictObject({
  address: hostPort.default('127.0.0.1:7233'),
  namespace: nonEmpty.default('default'),
  taskQueue: nonEmpty.default('ftp-ingest'),
  apiKeyEnv: envVarName.optional(),
  apiKeyFile: nonEmpty.optional(),
  // false, true (system CAs), or files.
  tls: z
    .union([z.boolean(), temporalTlsFiles], { error: 'false, true, or { ca?, cert?, key?, serverName? } (files)' })
    .default(false),
});

/** `redis.tls`: options of a rediss:// connection. */
const redisTls = z.strictObject({
  ca: nonEmpty.optional(),
  servername: nonEmpty.optional(),
  rejectUnauthorized: z.boolean().default(true),
});

const redis = z.strictObject({
  url: redisUrl.default('redis://127.0.0.1:6379'),
  // Braces are refused: `{sourceId}` is the hash tag that keeps a source's keys on one cluster slot.
  keyPrefix: matching(/^[A-Za-z0-9_.:-]{1,64}$/, '1 to 64 characters from A-Z a-z 0-9 _ . : -').default('ftpi'),
  user: nonEmpty.optional(), // ACL user; or in the URL (rules.ts refuses both)
  passwordEnv: envVarName.optional(),
  passwordFile: nonEmpty.optional(),
  tls: redisTls.optional(),
  // With Sentinel or Cluster: a ledger write counts only once this many replicas have it (0: do not wait).
  waitForReplicas: intRange(0, 16).default(0),
  replicaTimeout: duration(10).default(2_000),
});

const worker = z.strictObject({
  maxConcurrentActivities: intRange(1).default(20),
  // The SDK needs at least 2 (normal and sticky queue) while the workflow cache is on.
  maxConcurrentWorkflowTasks: intRange(2).default(40),
  // Workflows kept in memory between their tasks (docs/PERFORMANCE.md); 0 turns the cache off.
  maxCachedWorkflows: intRange(0).default(250),
  shutdownGrace: duration().default(30_000),
  // HTTP endpoints of the worker process (/metrics, /healthz, /readyz); port 0 turns them off.
  metricsPort: intRange(0, 65_535).default(9464),
  metricsHost: hostField.default('127.0.0.1'),
});

/** `sources` is a list (each with an `id`) or a map from id to source; the form decides the error paths. */
export type SourcesForm = 'list' | 'map';

export function configSchema(processors: KnownProcessors, form: SourcesForm) {
  const source = sourceSchema(processors);
  const sources = form === 'map' ? z.record(z.string(), source) : z.array(source).min(1);
  return z.strictObject({
    clusterId: idField.default('local'),
    // Loaded before validation (load.ts): their processors and workflows are the names that sources may use.
    plugins: z.array(nonEmpty).default([]),
    temporal: temporal.prefault({}),
    redis: redis.prefault({}),
    workDir: nonEmpty.default(DEFAULT_WORK_DIR),
    processedDir: nonEmpty.default(DEFAULT_PROCESSED_DIR),
    sharedWorkDir: z.boolean().default(true),
    worker: worker.prefault({}),
    sources: (sources as z.ZodType<ParsedSource[] | Record<string, ParsedSource>, unknown>).prefault(DEFAULT_SOURCES),
  });
}

/** What the file (plus environment and overrides) may contain. */
export type ConfigInput = Omit<z.input<ReturnType<typeof configSchema>>, 'sources'> & {
  sources?: SourceInput[] | Record<string, SourceInput>;
};
export type ParsedConfig = z.output<ReturnType<typeof configSchema>>;

// ---- The keys of each section, for "did you mean" ----

let sectionKeys: ReadonlyMap<string, readonly string[]> | undefined;

/** The keys an object of the file may have at `path` (a source's index or id stands for any source). */
export function allowedKeys(path: readonly PropertyKey[]): readonly string[] {
  sectionKeys ??= new Map<string, readonly string[]>([
    ['', Object.keys(configSchema(NO_PROCESSORS, 'list').shape)],
    ['temporal', Object.keys(temporal.shape)],
    ['temporal.tls', Object.keys(temporalTlsFiles.shape)],
    ['redis', Object.keys(redis.shape)],
    ['redis.tls', Object.keys(redisTls.shape)],
    ['worker', Object.keys(worker.shape)],
    ['sources.*', Object.keys(sourceSchema(NO_PROCESSORS).shape)],
    ['sources.*.tls', Object.keys(ftpsTls.shape)],
    ['sources.*.readyMarker', Object.keys(readyMarker.shape)],
    ['sources.*.processor', Object.keys(processorObject(NO_PROCESSORS).shape)],
    ['sources.*.remoteAction', [...new Set(remoteActions.flatMap((action) => Object.keys(action.shape)))]],
  ]);
  const section = path.map((key, i) => (i === 1 && path[0] === 'sources' ? '*' : String(key))).join('.');
  return sectionKeys.get(section) ?? [];
}
