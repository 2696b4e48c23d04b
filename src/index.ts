// The package's main entry: the plugin API (also `ftp-ingest/plugin`), and configuration loading for embedders.
export * from './plugins';
export { loadConfig, parseConfig, ConfigError, type AppConfig, type SourceConfig } from './config';
