// Defaults that are more than a single field's default: the processor list and the embedded demo source.

/** Built-in processors (DESIGN.md §9); callers that register their own pass the full list to the loader. */
export const processorNames: readonly string[] = ['checksum', 'delay', 'command'];

/** Relative to the config file's directory (or the working directory when there is no file). */
export const DEFAULT_WORK_DIR = '.data/work';
export const DEFAULT_PROCESSED_DIR = '.data/processed';

/** Environment variable the embedded demo sets to the password of its own FTP server. */
export const DEMO_PASSWORD_ENV = 'FTP_INGEST_DEMO_PASSWORD';

/** `sources` when none are configured: the embedded demo's FTP server (see the `demo` command). */
export const DEFAULT_SOURCES = [
  {
    id: 'demo',
    host: '127.0.0.1',
    port: 2121,
    user: 'ingest',
    passwordEnv: DEMO_PASSWORD_ENV,
    processor: { name: 'delay' },
  },
];
