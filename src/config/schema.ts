// The shape of the configuration file: strict objects (a misspelled key is an error, never ignored), a default
// for every field, durations as "90s" or ms. File keys have no unit suffix; build.ts renames them to `…Ms`.
import { z } from 'zod';
import { DEFAULT_PROCESSED_DIR, DEFAULT_SOURCES, DEFAULT_WORK_DIR } from './defaults';
import {
  duration,
  envVarName,
  hostField,
  hostPort,
  idField,
  intRange,
  invalid,
  matching,
  nonEmpty,
  oneOf,
  redisUrl,
  regexSource,
  remoteDir,
  timeZone,
} from './fields';
import { redisTls, temporalTls } from './tls';

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
export interface KnownProcessors {
  processors: readonly string[];
  workflows: readonly string[];
}

function processor({ processors, workflows }: KnownProcessors) {
  return z
    .strictObject({
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
    })
    .superRefine((value, ctx) => {
      if ((value.name === undefined) === (value.workflow === undefined)) {
        invalid(ctx, 'set one of name and workflow', 'name (a processor) or workflow (a workflow processor)');
      }
    })
    .transform(({ name, workflow, options }) =>
      // A workflow processor keeps its workflow name as `name` too: results and logs name the processor by it.
      workflow === undefined ? { name: name ?? '', options } : { name: workflow, workflow, options },
    );
}

// FTPS certificate checks. `ca` is a file (PEM); verification is on unless rejectUnauthorized is false.
const ftpsTls = z.strictObject({
  ca: nonEmpty.optional(),
  rejectUnauthorized: z.boolean().optional(),
  servername: hostField.optional(),
  minVersion: oneOf(['TLSv1.2', 'TLSv1.3']).optional(),
});

const remoteAction = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('delete') }),
  z.strictObject({ type: z.literal('rename-to-dir'), dir: remoteDir }),
]);

export function sourceSchema(processors: KnownProcessors) {
  return z.strictObject({
    id: idField.optional(), // required in a list, the key in a map: rules.ts checks
    host: hostField.default('127.0.0.1'),
    port: intRange(1, 65_535).optional(), // 21, or 990 for implicit FTPS (build.ts)
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
    maxInFlight: intRange(1).default(1_000),
    ...leaseFields,
    maxTries: intRange(1).default(3),
    // Bounds on what could otherwise wait or run forever (DESIGN.md §4b).
    processTimeout: duration(1_000).default(3_600_000),
    maxCrashes: intRange(1, 100).default(5),
    vanishAfter: duration(1_000).default(600_000),
    maxConnections: intRange(1, 64).default(4),
    processor: processor(processors).prefault({ name: 'checksum' }),
    remoteAction: remoteAction.default({ type: 'none' }),
    timeZone: timeZone.default('UTC'),
  });
}

export type SourceInput = z.input<ReturnType<typeof sourceSchema>>;
export type ParsedSource = z.output<ReturnType<typeof sourceSchema>>;

/** `sources` is a list (each with an `id`) or a map from id to source; the form decides the error paths. */
export type SourcesForm = 'list' | 'map';

export function configSchema(processors: KnownProcessors, form: SourcesForm) {
  const source = sourceSchema(processors);
  const sources = form === 'map' ? z.record(z.string(), source) : z.array(source).min(1);
  return z.strictObject({
    clusterId: idField.default('local'),
    // Loaded before validation (load.ts): their processors and workflows are the names that sources may use.
    plugins: z.array(nonEmpty).default([]),
    temporal: z
      .strictObject({
        address: hostPort.default('127.0.0.1:7233'),
        namespace: nonEmpty.default('default'),
        taskQueue: nonEmpty.default('ftp-ingest'),
        apiKeyEnv: envVarName.optional(),
        apiKeyFile: nonEmpty.optional(),
        tls: temporalTls.default(false),
      })
      .prefault({}),
    redis: z
      .strictObject({
        url: redisUrl.default('redis://127.0.0.1:6379'),
        // Braces are refused: `{sourceId}` is the hash tag that keeps a source's keys on one cluster slot.
        keyPrefix: matching(/^[A-Za-z0-9_.:-]{1,64}$/, '1 to 64 characters from A-Z a-z 0-9 _ . : -').default('ftpi'),
        user: nonEmpty.optional(), // ACL user; or in the URL (tls.ts refuses both)
        passwordEnv: envVarName.optional(),
        passwordFile: nonEmpty.optional(),
        tls: redisTls.optional(),
      })
      .prefault({}),
    workDir: nonEmpty.default(DEFAULT_WORK_DIR),
    processedDir: nonEmpty.default(DEFAULT_PROCESSED_DIR),
    sharedWorkDir: z.boolean().default(true),
    worker: z
      .strictObject({
        maxConcurrentActivities: intRange(1).default(20),
        // The SDK needs at least 2 (normal and sticky queue) while the workflow cache is on.
        maxConcurrentWorkflowTasks: intRange(2).default(40),
        // Workflows kept in memory between their tasks (docs/PERFORMANCE.md); 0 turns the cache off.
        maxCachedWorkflows: intRange(0).default(250),
        shutdownGrace: duration().default(30_000),
        // HTTP endpoints of the worker process (/metrics, /healthz, /readyz); port 0 turns them off.
        metricsPort: intRange(0, 65_535).default(9464),
        metricsHost: hostField.default('127.0.0.1'),
      })
      .prefault({}),
    sources: (sources as z.ZodType<ParsedSource[] | Record<string, ParsedSource>, unknown>).prefault(DEFAULT_SOURCES),
  });
}

/** What the file (plus environment and overrides) may contain. */
export type ConfigInput = Omit<z.input<ReturnType<typeof configSchema>>, 'sources'> & {
  sources?: SourceInput[] | Record<string, SourceInput>;
};
export type ParsedConfig = z.output<ReturnType<typeof configSchema>>;
