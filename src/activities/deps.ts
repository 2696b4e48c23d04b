import type { AppConfig, SourceConfig } from '../config';
import { getSource } from '../config';
import type { Candidate, ClaimBatchOptions, Ledger } from '../ledger';
import { remoteEndpointOf, type RemoteClient, type RemoteClients, type RemoteEntry } from '../remote';
import { PATCH_LEVEL } from '../shared/patch-level';
import type { FilePlan } from '../shared/types';

/** What the activities share in one worker process: built once at worker start, never in workflow code. */
export interface ActivityDeps {
  config: AppConfig;
  ledger: Ledger;
  /** Connection pools to the sources' servers (FTP, FTPS or SFTP: the activities do not know which). */
  remote: RemoteClients;
  /** Task queue served only by this host's worker (for a workDir that is not shared between hosts). */
  hostTaskQueue: string;
  env?: NodeJS.ProcessEnv;
}

export function sourceOf(deps: ActivityDeps, sourceId: string): SourceConfig {
  return getSource(deps.config, sourceId);
}

/**
 * The source's connection pool. Secrets (password, private key, passphrase) are read at use time and never leave
 * this process; sources with the same server and credentials share one pool.
 */
export function remoteOf(deps: ActivityDeps, source: SourceConfig): RemoteClient {
  return deps.remote.get(remoteEndpointOf(source, deps.env), { maxConnections: source.maxConnections });
}

/** Activity settings of a source's file workflows. */
export function filePlanOf(deps: ActivityDeps, source: SourceConfig): FilePlan {
  return {
    heartbeatTimeoutMs: source.heartbeatTimeoutMs,
    activityMaxIntervalMs: source.activityMaxIntervalMs,
    activityTimeoutMs: Math.max(source.retryTimeoutMs, 60 * 60_000),
    sharedWorkDir: deps.config.sharedWorkDir,
    processTimeoutMs: source.processTimeoutMs,
    remoteAction: source.remoteAction.type !== 'none',
    // Only set for a workflow processor: older plans (and histories) stay as they were.
    ...(source.processor.workflow === undefined
      ? {}
      : { processorWorkflow: { name: source.processor.workflow, options: { ...source.processor.options } } }),
    // Only set when the fast path is on: plans of other sources stay as they were.
    ...(source.smallFileMaxBytes > 0 ? { smallFileMaxBytes: source.smallFileMaxBytes } : {}),
    patchLevel: PATCH_LEVEL,
  };
}

/** The remote path of a file of a source. */
export function remotePathOf(source: SourceConfig, path: string): string {
  return source.remoteDir === '/' ? `/${path}` : `${source.remoteDir}/${path}`;
}

/** A listed file as the claim takes it (a poll's and the CLI's backfill alike). */
export function candidateOf(entry: RemoteEntry): Candidate {
  const exactTime = entry.precision === 's' || entry.precision === 'ms';
  return { path: entry.path, mtimeMs: entry.mtimeMs, size: entry.size, ...(exactTime ? { exactTime } : {}) };
}

/** How a poll run (or the CLI's backfill run) claims a source's files in the ledger. */
export function claimOptionsOf(clusterId: string, source: SourceConfig, pollRun: string): ClaimBatchOptions {
  return {
    clusterId,
    pollRun,
    leaseMs: source.retryTimeoutMs,
    maxTries: source.maxTries,
    maxAcceptPerPoll: source.maxAcceptPerPoll,
    maxInFlight: source.maxInFlight,
    versionPolicy: source.versionPolicy,
  };
}
