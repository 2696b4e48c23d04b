import { Context } from '@temporalio/activity';
import type { SourceConfig } from '../config';
import type { RunningAttempt } from '../ledger';
import { FTP_PATH } from '../shared/search-attributes';
import type { ActivityDeps } from './deps';

/**
 * Keeps the leases of this cluster's files whose workflows are still running, whatever they are waiting for
 * (a worker slot, a workflow task timeout, Redis coming back). Runs at every poll, before the listing, so it
 * goes on while the FTP server is away too: a live cluster never loses a file to its own lease, and a cluster
 * that stops polling lets its leases expire for another cluster to take over.
 */
export async function renewRunningClaims(deps: ActivityDeps, source: SourceConfig): Promise<number> {
  const query = `WorkflowType = "fileWorkflow" AND ExecutionStatus = "Running" AND FtpSource = "${source.id}"`;
  const running: RunningAttempt[] = [];
  for await (const execution of Context.current().client.workflow.list({ query })) {
    const path = execution.typedSearchAttributes.get(FTP_PATH);
    if (path !== undefined) running.push({ path, workflowId: execution.workflowId });
  }
  return deps.ledger.renewRunning(source.id, deps.config.clusterId, running, source.retryTimeoutMs);
}

/**
 * Renews the running claims now (its failure fails the poll, as before), then every third of the lease until
 * the returned stop is called. A listing can wait long for an FTP connection (downloads hold the pool's
 * connections; after Redis or a worker comes back they all restart at once): with one renewal before it, the
 * leases of files waiting for a worker slot could lapse during the wait, and the claim that followed would take
 * this cluster's own running files over (superseded attempts, a try each; other clusters could too).
 */
export async function keepRunningClaimsRenewed(deps: ActivityDeps, source: SourceConfig): Promise<() => Promise<void>> {
  await renewRunningClaims(deps, source);
  const ctx = Context.current();
  let renewing: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      renewing ??= renewRunningClaims(deps, source)
        .then(() => undefined)
        .catch((err: unknown) => {
          ctx.log.warn('renewing running claims failed', { error: String(err) });
        })
        .finally(() => {
          renewing = undefined;
        });
    },
    Math.max(1_000, source.retryTimeoutMs / 3),
  );
  return async () => {
    clearInterval(timer);
    await renewing;
  };
}
