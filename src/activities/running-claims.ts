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
