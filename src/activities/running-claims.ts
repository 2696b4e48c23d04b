import { Context } from '@temporalio/activity';
import type { SourceConfig } from '../config';
import type { RunningAttempt } from '../ledger';
import { metrics } from '../observability/metrics';
import { FTP_PATH, TEMPORAL_REPORTED_PROBLEMS } from '../shared/search-attributes';
import type { ActivityDeps } from './deps';

/**
 * Keeps the leases of this cluster's files whose workflows are still running, whatever they are waiting for
 * (a worker slot, a workflow task timeout, Redis coming back). Runs at every poll, before the listing, so it
 * goes on while the FTP server is away too: a live cluster never loses a file to its own lease, and a cluster
 * that stops polling lets its leases expire for another cluster to take over.
 *
 * A running workflow whose workflow tasks keep failing (a bad deploy, a non-determinism error) keeps its file's
 * claim too: Temporal retries those tasks until fixed code is deployed, and the file then goes on where it stopped.
 * Its owner is the operator: the ones the server flags are logged and written to the source's health, where
 * `status` shows them and exits 1.
 */
export async function renewRunningClaims(deps: ActivityDeps, source: SourceConfig): Promise<number> {
  const query = `WorkflowType = "fileWorkflow" AND ExecutionStatus = "Running" AND FtpSource = "${source.id}"`;
  const running: RunningAttempt[] = [];
  const failing: string[] = [];
  const ctx = Context.current();
  for await (const execution of ctx.client.workflow.list({ query })) {
    const path = execution.typedSearchAttributes.get(FTP_PATH);
    if (path !== undefined) running.push({ path, workflowId: execution.workflowId });
    if (execution.typedSearchAttributes.get(TEMPORAL_REPORTED_PROBLEMS)?.length) failing.push(execution.workflowId);
  }
  const { clusterId } = deps.config;
  if (failing.length > 0) {
    const example = failing[0];
    ctx.log.warn('file workflows whose workflow tasks keep failing', {
      source: source.id,
      count: failing.length,
      example,
    });
  }
  metrics.failingFileWorkflows(source.id, failing.length);
  await deps.ledger.recordFailingWorkflows(source.id, clusterId, failing);
  return deps.ledger.renewRunning(source.id, clusterId, running, source.retryTimeoutMs);
}

/** Keeps a cluster's running claims renewed while a poll lists; see keepRunningClaimsRenewed. */
export interface RunningClaimsKeeper {
  /** Renews now unless the last renewal that succeeded began less than half a lease ago; throws if it cannot. */
  renewedRecently(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Renews the running claims now (its failure fails the poll, as before), then every third of the lease until
 * stopped. A listing can wait long for an FTP connection (downloads hold the pool's connections; after Redis or a
 * worker comes back they all restart at once): with one renewal before it, the leases of files waiting for a
 * worker slot could lapse during the wait, and the claim that followed would take this cluster's own running
 * files over (superseded attempts, a try each; other clusters could too). The claim calls renewedRecently first:
 * renewals fail while Temporal is away (they ask it what runs), and a claim made then would take over the files
 * whose leases lapsed meanwhile. Half a lease, not the renewal interval: a loaded Temporal answers slowly, and
 * an extra query per claim would load it more.
 */
export async function keepRunningClaimsRenewed(deps: ActivityDeps, source: SourceConfig): Promise<RunningClaimsKeeper> {
  const ctx = Context.current();
  return keepRenewing(
    () => renewRunningClaims(deps, source),
    { everyMs: Math.max(1_000, source.retryTimeoutMs / 3), freshForMs: source.retryTimeoutMs / 2 },
    (err) => {
      ctx.log.warn('renewing running claims failed', { error: String(err) });
    },
  );
}

/**
 * Runs `renew` now (its failure is thrown), then every `everyMs` (failures go to `onError`) until stopped; a
 * renewal counts as recent for `freshForMs` from its start.
 */
export async function keepRenewing(
  renew: () => Promise<unknown>,
  { everyMs, freshForMs }: { everyMs: number; freshForMs: number },
  onError: (err: unknown) => void,
): Promise<RunningClaimsKeeper> {
  let renewedAt = 0;
  const renewNow = async (): Promise<void> => {
    const started = performance.now();
    await renew();
    renewedAt = started;
  };
  await renewNow();
  let renewing: Promise<void> | undefined;
  const timer = setInterval(() => {
    renewing ??= renewNow()
      .catch(onError)
      .finally(() => {
        renewing = undefined;
      });
  }, everyMs);
  return {
    async renewedRecently() {
      await renewing;
      if (performance.now() - renewedAt > freshForMs) await renewNow();
    },
    async stop() {
      clearInterval(timer);
      await renewing;
    },
  };
}
