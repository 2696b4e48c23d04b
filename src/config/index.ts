// The configuration module: one validated AppConfig from a file, the environment and defaults.
export { loadConfig, parseConfig, type LoadOptions, type ParseOptions } from './load';
export { getSource, UnknownSourceError } from './sources';
export {
  checkSecrets,
  configuredSecrets,
  redactSecrets,
  redisPassword,
  resolveSecret,
  SecretError,
  sourcePassword,
  sourcePrivateKey,
  sourcePassphrase,
  temporalApiKey,
  type SecretRef,
} from './secrets';
export { ConfigError, type ConfigIssue } from './errors';
export { DURATION_FORMS, formatDuration, parseDuration } from './durations';
export { DEMO_PASSWORD_ENV, processorNames } from './defaults';
export { CONFIG_FILE_ENV, ENV_SETTINGS } from './env';
export { LEASE_MARGIN_MS } from './rules';
export type { DeepPartial } from './merge';
export type { ConfigInput, SourceInput } from './schema';
export type * from './types';
export {
  parseRedisUrl,
  RedisUrlError,
  REDIS_URL_FORMS,
  type ParsedRedisUrl,
  type RedisNodeAddress,
  type RedisTopology,
} from './redis-url';
