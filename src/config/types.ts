// The validated configuration as the rest of the program sees it. Types only (no runtime code), so workflow
// code may `import type` from here. Durations are milliseconds (`…Ms`); paths are absolute; secrets appear only
// as references (the name of an environment variable or the path of a file), never as values.

/** `false` plain FTP, `true` explicit FTPS (AUTH TLS), `'implicit'` implicit FTPS (basic-ftp's `secure`). */
export type FtpSecure = boolean | 'implicit';

/** FTPS certificate checks of a source. */
export interface FtpsTlsConfig {
  /** Absolute path of a PEM file of CA certificates to trust instead of the system's. */
  readonly ca?: string;
  /** Default true. */
  readonly rejectUnauthorized?: boolean;
  /** Name the certificate must carry when it differs from `host`. */
  readonly servername?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** What happens to the remote file after a committed ingestion. */
export type RemoteAction = { readonly type: 'none' } | { readonly type: 'delete' } | RenameToDirAction;

export interface RenameToDirAction {
  readonly type: 'rename-to-dir';
  /** Absolute remote directory the file is moved into (keeping its path relative to `remoteDir`). */
  readonly dir: string;
}

export interface ReadyMarker {
  /** A file is taken only once `<name><suffix>` exists beside it, for any of these suffixes. */
  readonly suffixes: readonly string[];
}

export interface ProcessorRef {
  /** Registered processor name (built-ins: checksum, delay, command). */
  readonly name: string;
  /** Processor-specific options, passed through unchanged. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Set when the processor is a plugin's workflow (`processor: { workflow }`): its workflow type (= `name`). */
  readonly workflow?: string;
}

/** One FTP source. The ledger, schedules and workflow ids are keyed by `id`. */
export interface SourceConfig {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Name of the environment variable holding the password (see `sourcePassword`). */
  readonly passwordEnv?: string;
  /** Absolute path of a file holding the password (see `sourcePassword`). */
  readonly passwordFile?: string;
  readonly secure: FtpSecure;
  /** `ftp` (FTP/FTPS) when absent, or `sftp`. */
  readonly protocol?: 'ftp' | 'sftp';
  /** FTPS certificate checks (only with `secure`). */
  readonly tls?: FtpsTlsConfig;
  /** SFTP: environment variable holding the private key (see `sourcePrivateKey`). */
  readonly privateKeyEnv?: string;
  /** SFTP: absolute path of the private key file. */
  readonly privateKeyFile?: string;
  /** SFTP: environment variable holding the private key's passphrase. */
  readonly passphraseEnv?: string;
  /** SFTP: absolute path of an OpenSSH known_hosts file that pins the server's host key. */
  readonly knownHosts?: string;
  /** SFTP: the server's host key fingerprint, `SHA256:…`. */
  readonly hostKeyFingerprint?: string;
  /** Absolute, normalized remote directory ('/' or '/a/b', no trailing slash). */
  readonly remoteDir: string;
  readonly recursive: boolean;
  readonly maxDepth: number;
  /** Globs (picomatch) on the path relative to `remoteDir`. */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Regular expression source, tested against the path relative to `remoteDir`; null = no filter. */
  readonly pattern: string | null;
  readonly includeHidden: boolean;
  readonly minFileAgeMs: number;
  readonly requireStableSize: boolean;
  /** How long a version must stay unchanged (in Redis time, across all clusters) before it is taken. */
  readonly stableTimeMs: number;
  readonly readyMarker: ReadyMarker | null;
  readonly order: 'none' | 'name' | 'mtime';
  readonly versionPolicy: 'reprocess' | 'ignore';
  readonly pollIntervalMs: number;
  readonly maxAcceptPerPoll: number;
  readonly maxInFlight: number;
  /** Lease length in the ledger and retry delay after a failed attempt. */
  readonly retryTimeoutMs: number;
  readonly maxTries: number;
  /** A processor run that has not returned by then is stopped; the attempt fails ('process-timeout'). */
  readonly processTimeoutMs: number;
  /** Runs in a row of a step of one attempt that may end without a word (worker died or hung) before 'crash-loop'. */
  readonly maxCrashes: number;
  /** Files up to this many bytes take the small-file fast path (one local activity); 0 = off. */
  readonly smallFileMaxBytes: number;
  /** How long an unfinished file may be missing from the listing before it is REJECTED as 'vanished'. */
  readonly vanishAfterMs: number;
  /** A DONE or REJECTED record of a file no longer on the server is removed this long after it finished. */
  readonly forgetAfterMs: number;
  readonly maxConnections: number;
  readonly heartbeatTimeoutMs: number;
  /** Retry policy `maximumInterval` of the file activities. */
  readonly activityMaxIntervalMs: number;
  readonly processor: ProcessorRef;
  readonly remoteAction: RemoteAction;
  /** IANA time zone of LIST timestamps on servers without MDTM/MLSD. */
  readonly timeZone: string;
}

export interface TemporalConfig {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  /** Name of the environment variable holding an API key (Temporal Cloud). */
  readonly apiKeyEnv?: string;
  /** Absolute path of a file holding an API key. */
  readonly apiKeyFile?: string;
  /** false, true (system CAs), or files for a private CA and/or a client certificate (mTLS). */
  readonly tls: boolean | TemporalTls;
}

/** TLS of the Temporal connection; paths are absolute. `cert` and `key` come together. */
export interface TemporalTls {
  /** CA bundle that signed the server's certificate (default: the system's CAs). */
  readonly ca?: string;
  /** Client certificate (mTLS). */
  readonly cert?: string;
  readonly key?: string;
  /** Name to check the server's certificate against, when it is not the address's host. */
  readonly serverName?: string;
}

/** TLS of a rediss:// connection; `ca` is an absolute path. */
export interface RedisTls {
  readonly ca?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export interface RedisConfig {
  /**
   * One node (redis://, rediss://), a Sentinel group (redis+sentinel://) or a Cluster (redis+cluster://), never
   * with a password in it (see values.ts).
   */
  readonly url: string;
  readonly keyPrefix: string;
  /** ACL user (when not in the URL). */
  readonly user?: string;
  /** Only with a TLS url. */
  readonly tls?: RedisTls;
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
  /** A ledger write counts only once this many replicas have it (0: do not wait). */
  readonly waitForReplicas: number;
  readonly replicaTimeoutMs: number;
}

export interface WorkerConfig {
  readonly maxConcurrentActivities: number;
  readonly maxConcurrentWorkflowTasks: number;
  /** Workflows kept in the worker's cache between their tasks; 0 = no cache. */
  readonly maxCachedWorkflows: number;
  readonly shutdownGraceMs: number;
  /** Port of the worker's HTTP endpoints (/metrics, /healthz, /readyz); 0 = off. */
  readonly metricsPort: number;
  /** Address they listen on (loopback by default). */
  readonly metricsHost: string;
}

export interface AppConfig {
  /** Id of this cluster in the shared ledger (`owner` field). */
  readonly clusterId: string;
  /** Plugin modules, resolved to absolute files (loaded and checked when the config was validated). */
  readonly plugins: readonly string[];
  readonly temporal: TemporalConfig;
  readonly redis: RedisConfig;
  /** Absolute local directory for downloads in progress. */
  readonly workDir: string;
  /** Absolute local directory for committed files. */
  readonly processedDir: string;
  /** false → activities after download run on a host-specific task queue (DESIGN.md §6). */
  readonly sharedWorkDir: boolean;
  readonly worker: WorkerConfig;
  /** At least one; ids unique. */
  readonly sources: readonly SourceConfig[];
}
