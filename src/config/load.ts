// Loading: defaults ← file ← environment ← programmatic overrides, then one validation pass that collects
// every problem (schema and cross-field rules) into a single ConfigError, then the AppConfig the rest of the
// program sees (ids attached, `…Ms` names, absolute local paths, frozen).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { LEVELS, LOG_LEVEL_ENV } from '../log';
import { loadPlugins } from '../plugins/load';
import {
  ConfigError,
  isRecord,
  problemsFromZod,
  type Raw,
  toConfigIssues,
  UnknownSourceError,
  valueAt,
} from './errors';
import { crossFieldProblems } from './rules';
import {
  type ConfigInput,
  configSchema,
  type ParsedConfig,
  type ParsedSource,
  processorNames,
  type SourcesForm,
} from './schema';
import type { AppConfig, SourceConfig } from './types';

export interface ParseOptions {
  /** Processor names that `sources[].processor.name` may use besides the plugins' (default: the built-ins). */
  processors?: readonly string[];
  /** Directory that relative local paths resolve against (default: the working directory). */
  baseDir?: string;
  /** Applied after the environment, e.g. from command-line flags or tests. */
  overrides?: DeepPartial<ConfigInput>;
  /** Where the input came from, for the error message (e.g. the file path). */
  origin?: string;
}

export interface LoadOptions extends Omit<ParseOptions, 'baseDir' | 'origin'> {
  /** Config file (.yaml, .yml, .json); default `env.FTP_INGEST_CONFIG`; none → built-in defaults. */
  file?: string;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Reads the config file (if any), applies the environment and validates. Throws ConfigError. */
export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env[CONFIG_FILE_ENV] || undefined);
  if (file === undefined) return parseConfig({}, env, options);
  const { path: filePath, content } = readConfigFile(file);
  return parseConfig(content, env, { ...options, baseDir: path.dirname(filePath), origin: filePath });
}

/**
 * Validates a config object (the file's shape). The environment overrides apply only when `env` is given:
 * tests and embedders get exactly what they pass.
 */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = {}, options: ParseOptions = {}): AppConfig {
  if (input !== undefined && input !== null && !isRecord(input)) {
    throw new ConfigError(
      [{ path: '(root)', message: 'the configuration must be an object (key: value)' }],
      options.origin,
    );
  }
  assertLogLevel(env);
  const fromEnv = envOverrides(env);
  const raw = normalizeInput(mergeLayers(input ?? {}, fromEnv.values, options.overrides) as Raw);
  for (const setting of fromEnv.origins.keys()) {
    if (valueAt(options.overrides, setting.split('.')) !== undefined) fromEnv.origins.delete(setting);
  }

  const baseDir = path.resolve(options.baseDir ?? '.');
  const form: SourcesForm = isRecord(raw.sources) ? 'map' : 'list';
  // Plugins first: the processors and workflows they add are names that sources may select.
  const processors = options.processors ?? processorNames;
  const plugins = loadPlugins(Array.isArray(raw.plugins) ? raw.plugins : [], baseDir, processors);
  const schema = configSchema(
    { processors: [...processors, ...plugins.processors], workflows: plugins.workflows },
    form,
  );
  const result = schema.safeParse(raw);
  const problems = [
    ...plugins.problems.map((p) => ({ path: ['plugins', p.index], problem: p.problem, allowed: p.allowed })),
    ...(result.success ? [] : problemsFromZod(result.error.issues, raw)),
    ...crossFieldProblems(raw, form, baseDir),
  ];
  if (!result.success || problems.length > 0) {
    throw new ConfigError(toConfigIssues(problems, raw, fromEnv.origins), options.origin);
  }
  return buildConfig(
    result.data,
    baseDir,
    plugins.plugins.map((p) => p.file),
  );
}

/** The source with this id; the error lists the known ids. */
export function getSource(config: AppConfig, sourceId: string): SourceConfig {
  const source = config.sources.find((s) => s.id === sourceId);
  if (source) return source;
  const known = config.sources.map((s) => s.id).join(', ');
  throw new UnknownSourceError(`unknown source ${JSON.stringify(sourceId)}; configured sources: ${known}`);
}

// ---- The file: YAML (.yaml/.yml) or JSON (.json), chosen by extension ----

interface ConfigFile {
  readonly path: string;
  /** Parsed content; an empty file is `{}`. */
  readonly content: unknown;
}

function readConfigFile(file: string): ConfigFile {
  const absolute = path.resolve(file);
  const text = readText(absolute);
  const ext = path.extname(absolute).toLowerCase();
  let content: unknown;
  if (ext === '.json') content = text.trim() === '' ? null : parseJson(absolute, text);
  else if (ext === '.yaml' || ext === '.yml') content = parseYaml(absolute, text);
  else throw fileError(absolute, `unsupported extension "${ext}"; allowed: .yaml, .yml, .json`);
  // A file named on purpose but empty (or only comments) is a mistake, not a wish for the demo defaults.
  if (content === null || content === undefined) {
    throw fileError(absolute, 'the file is empty; give at least `sources` (see examples/ftp-ingest.yaml)');
  }
  return { path: absolute, content };
}

// Parse errors give a position, never a snippet of the file: the snippet could hold a misplaced secret.

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const reason = message.split(/ in JSON|, ".*" is not valid JSON/s)[0] ?? 'syntax error';
    throw fileError(file, `not valid JSON${position ? ` at ${lineCol(text, Number(position))}` : ''}: ${reason}`);
  }
}

function parseYaml(file: string, text: string): unknown {
  try {
    // `merge` enables `<<: *defaults`, handy to share settings between sources.
    return YAML.parse(text, { merge: true, prettyErrors: false }) as unknown;
  } catch (err) {
    const position = err instanceof YAML.YAMLError ? ` at ${lineCol(text, err.pos[0])}` : '';
    throw fileError(file, `not valid YAML${position}: ${(err as Error).message}`);
  }
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before[before.length - 1] ?? '').length + 1}`;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError(file, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function fileError(file: string, message: string): ConfigError {
  return new ConfigError([{ path: '(file)', message }], file);
}

// ---- The environment: overrides of single settings (12-factor deployments) ----
// Relative directories given in the environment resolve against the working directory, not the config file's.

/** Environment variable → setting path. */
export const ENV_SETTINGS: Readonly<Record<string, readonly [string] | readonly [string, string]>> = {
  FTP_INGEST_CLUSTER_ID: ['clusterId'],
  FTP_INGEST_TEMPORAL_ADDRESS: ['temporal', 'address'],
  FTP_INGEST_TEMPORAL_NAMESPACE: ['temporal', 'namespace'],
  FTP_INGEST_TEMPORAL_TASK_QUEUE: ['temporal', 'taskQueue'],
  FTP_INGEST_REDIS_URL: ['redis', 'url'],
  FTP_INGEST_WORK_DIR: ['workDir'],
  FTP_INGEST_PROCESSED_DIR: ['processedDir'],
  FTP_INGEST_METRICS_PORT: ['worker', 'metricsPort'],
  FTP_INGEST_METRICS_HOST: ['worker', 'metricsHost'],
};

/**
 * The logger reads FTP_INGEST_LOG_LEVEL before any config is loaded, and falls back to `info`; a value it cannot
 * use (`verbose`, `warning`) is refused here, where everything else is checked, instead of being ignored.
 */
function assertLogLevel(env: NodeJS.ProcessEnv): void {
  const value = env[LOG_LEVEL_ENV]?.trim();
  if (!value || (LEVELS as readonly string[]).includes(value.toLowerCase())) return;
  const message = `must be one of ${LEVELS.join(', ')}; got "${value}"`;
  throw new ConfigError([{ path: LOG_LEVEL_ENV, message }]);
}

/** Names the config file when `loadConfig` is given none. */
export const CONFIG_FILE_ENV = 'FTP_INGEST_CONFIG';

const DIR_SETTINGS = new Set(['workDir', 'processedDir']);
/** Settings whose value is a number: a variable holding only digits becomes one (anything else stays a string and fails validation). */
const NUMBER_SETTINGS = new Set(['worker.metricsPort']);

interface EnvOverrides {
  /** A partial config holding the values from the environment. */
  readonly values: Raw;
  /** Setting path ("redis.url") → environment variable that set it, for error messages. */
  readonly origins: Map<string, string>;
}

/** The overrides present in `env`; an empty value counts as unset. */
function envOverrides(env: NodeJS.ProcessEnv): EnvOverrides {
  const values: Raw = {};
  const origins = new Map<string, string>();
  for (const [name, settingPath] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const key = settingPath.join('.');
    const parsed = NUMBER_SETTINGS.has(key) && /^\d+$/.test(value) ? Number(value) : value;
    setAt(values, settingPath, DIR_SETTINGS.has(settingPath[0]) ? path.resolve(value) : parsed);
    origins.set(key, name);
  }
  return { values, origins };
}

function setAt(target: Raw, settingPath: readonly string[], value: string | number): void {
  const [head, ...rest] = settingPath;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const child = isRecord(target[head]) ? target[head] : {};
  target[head] = child;
  setAt(child, rest, value);
}

// ---- Layers: objects merge key by key, anything else (lists included) is replaced by the later layer ----

/** Every field optional, at any depth; lists are replaced whole, so their items stay as they are. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** `undefined` in a later layer changes nothing. */
function mergeLayers(...layers: unknown[]): unknown {
  return layers.reduce((acc, layer) => mergeTwo(acc, layer), undefined);
}

function mergeTwo(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeTwo(base[key], value);
  return out;
}

// ---- Conveniences of the file format, undone before validation so that errors point at the long form ----
//   x-anything: …             top-level keys starting with "x-" are ignored: a home for YAML anchors
//   processor: checksum       → processor: { name: checksum }
//   remoteAction: delete      → remoteAction: { type: delete }

function normalizeInput(raw: Raw): Raw {
  const out = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
  const { sources } = out;
  if (Array.isArray(sources)) out.sources = sources.map(expandSource);
  else if (isRecord(sources)) {
    out.sources = Object.fromEntries(Object.entries(sources).map(([id, s]) => [id, expandSource(s)]));
  }
  return out;
}

function expandSource(source: unknown): unknown {
  if (!isRecord(source)) return source;
  const out = { ...source };
  if (typeof out.processor === 'string') out.processor = { name: out.processor };
  if (typeof out.remoteAction === 'string') out.remoteAction = { type: out.remoteAction };
  return out;
}

// ---- From the validated file shape to AppConfig ----

const FTP_PORT = 21;
const IMPLICIT_FTPS_PORT = 990;
const SFTP_PORT = 22;

/** `baseDir` anchors relative local paths: the config file's directory, or the working directory. */
function buildConfig(parsed: ParsedConfig, baseDir: string, pluginFiles: readonly string[]): AppConfig {
  const { temporal, redis, worker } = parsed;
  const config: AppConfig = {
    clusterId: parsed.clusterId,
    plugins: [...pluginFiles],
    temporal: {
      ...temporal,
      ...localFile('apiKeyFile', temporal.apiKeyFile, baseDir),
      tls: typeof temporal.tls === 'boolean' ? temporal.tls : tlsFiles(temporal.tls, ['ca', 'cert', 'key'], baseDir),
    },
    redis: {
      ...withoutKeys(redis, ['replicaTimeout']),
      replicaTimeoutMs: redis.replicaTimeout,
      ...localFile('passwordFile', redis.passwordFile, baseDir),
      ...(redis.tls ? { tls: tlsFiles(redis.tls, ['ca'], baseDir) } : {}),
    },
    workDir: path.resolve(baseDir, parsed.workDir),
    processedDir: path.resolve(baseDir, parsed.processedDir),
    sharedWorkDir: parsed.sharedWorkDir,
    worker: {
      maxConcurrentActivities: worker.maxConcurrentActivities,
      maxConcurrentWorkflowTasks: worker.maxConcurrentWorkflowTasks,
      maxCachedWorkflows: worker.maxCachedWorkflows,
      shutdownGraceMs: worker.shutdownGrace,
      metricsPort: worker.metricsPort,
      metricsHost: worker.metricsHost,
    },
    sources: sourceList(parsed.sources).map(([id, source]) => buildSource(id, source, baseDir)),
  };
  return deepFreeze(config);
}

function sourceList(sources: ParsedConfig['sources']): [string, ParsedSource][] {
  // The rules guarantee list items have an id; in the map form the key is the id.
  return Array.isArray(sources) ? sources.map((s) => [s.id ?? '', s]) : Object.entries(sources);
}

function buildSource(id: string, s: ParsedSource, baseDir: string): SourceConfig {
  const { minFileAge, pollInterval, retryTimeout, heartbeatTimeout, activityMaxInterval, ...rest } = s;
  const { stableTime, processTimeout, vanishAfter, forgetAfter, ...settings } = rest;
  return {
    ...settings,
    id,
    port: s.port ?? (s.protocol === 'sftp' ? SFTP_PORT : s.secure === 'implicit' ? IMPLICIT_FTPS_PORT : FTP_PORT),
    ...localFile('passwordFile', s.passwordFile, baseDir),
    ...localFile('privateKeyFile', s.privateKeyFile, baseDir),
    ...localFile('knownHosts', s.knownHosts, baseDir),
    ...(s.tls ? { tls: { ...s.tls, ...localFile('ca', s.tls.ca, baseDir) } } : {}),
    minFileAgeMs: minFileAge,
    pollIntervalMs: pollInterval,
    retryTimeoutMs: retryTimeout,
    heartbeatTimeoutMs: heartbeatTimeout,
    activityMaxIntervalMs: activityMaxInterval,
    stableTimeMs: stableTime ?? pollInterval,
    processTimeoutMs: processTimeout,
    vanishAfterMs: vanishAfter,
    forgetAfterMs: forgetAfter,
  };
}

/** `{ [key]: absolute path }`, or nothing when unset (keeps the key absent rather than undefined). */
function localFile<K extends string>(key: K, file: string | undefined, baseDir: string): Partial<Record<K, string>> {
  return file === undefined ? {} : ({ [key]: path.resolve(baseDir, file) } as Record<K, string>);
}

/** A TLS section with its file settings made absolute. */
function tlsFiles<T extends object>(tls: T, keys: readonly (keyof T & string)[], baseDir: string): T {
  const out: Record<string, unknown> = { ...(tls as Record<string, unknown>) };
  for (const key of keys) {
    const file = tls[key];
    if (typeof file === 'string') out[key] = path.resolve(baseDir, file);
  }
  return out as T;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function withoutKeys<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Omit<T, K> {
  const copy = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}
