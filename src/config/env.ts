// Environment overrides of single settings (12-factor deployments). Relative directories given in the
// environment resolve against the working directory, not the config file's.
import path from 'node:path';
import { isRecord, type Raw } from './problems';

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

/** Names the config file when `loadConfig` is given none. */
export const CONFIG_FILE_ENV = 'FTP_INGEST_CONFIG';

const DIR_SETTINGS = new Set(['workDir', 'processedDir']);
/** Settings whose value is a number: a variable holding only digits becomes one (anything else stays a string and fails validation). */
const NUMBER_SETTINGS = new Set(['worker.metricsPort']);

export interface EnvOverrides {
  /** A partial config holding the values from the environment. */
  readonly values: Raw;
  /** Setting path ("redis.url") → environment variable that set it, for error messages. */
  readonly origins: Map<string, string>;
}

/** The overrides present in `env`; an empty value counts as unset. */
export function envOverrides(env: NodeJS.ProcessEnv): EnvOverrides {
  const values: Raw = {};
  const origins = new Map<string, string>();
  for (const [name, settingPath] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const key = settingPath.join('.');
    const parsed = NUMBER_SETTINGS.has(key) && /^\d+$/.test(value) ? Number(value) : value;
    setAt(values, settingPath, DIR_SETTINGS.has(settingPath[0]) ? path.resolve(value) : parsed);
    origins.set(settingPath.join('.'), name);
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
