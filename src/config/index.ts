// The configuration module: one validated AppConfig from a file, the environment and defaults.
//   schema.ts  the file's shape, field checks and defaults      load.ts     file ← environment ← overrides → AppConfig
//   rules.ts   checks across fields and of TLS files           errors.ts   ConfigError and the messages of problems
//   secrets.ts secrets read at use, by reference               types.ts    AppConfig (types only)
//   values.ts  durations and Redis URLs (pure parsers)
export {
  CONFIG_FILE_ENV,
  ENV_SETTINGS,
  getSource,
  loadConfig,
  parseConfig,
  type DeepPartial,
  type LoadOptions,
  type ParseOptions,
} from './load';
export {
  checkSecrets,
  configuredSecrets,
  redactSecrets,
  redisPassword,
  resolveSecret,
  SecretError,
  secretEnvNames,
  sourcePassword,
  sourcePrivateKey,
  sourcePassphrase,
  temporalApiKey,
  type SecretRef,
} from './secrets';
export { ConfigError, UnknownSourceError, type ConfigIssue } from './errors';
export { DEMO_PASSWORD_ENV, processorNames, type ConfigInput, type SourceInput } from './schema';
export { LEASE_MARGIN_MS } from './rules';
export type * from './types';
export {
  DURATION_FORMS,
  formatDuration,
  parseDuration,
  parseRedisUrl,
  RedisUrlError,
  REDIS_URL_FORMS,
  type ParsedRedisUrl,
  type RedisNodeAddress,
  type RedisTopology,
} from './values';
