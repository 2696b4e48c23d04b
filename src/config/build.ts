// From the validated file shape to AppConfig: ids attached, `…Ms` names, absolute local paths, frozen.
import path from 'node:path';
import type { ParsedConfig, ParsedSource } from './schema';
import type { AppConfig, SourceConfig } from './types';

const FTP_PORT = 21;
const IMPLICIT_FTPS_PORT = 990;
const SFTP_PORT = 22;

/** `baseDir` anchors relative local paths: the config file's directory, or the working directory. */
export function buildConfig(parsed: ParsedConfig, baseDir: string, pluginFiles: readonly string[] = []): AppConfig {
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
      ...redis,
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
  const { stableTime, processTimeout, vanishAfter, ...settings } = rest;
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
