import type { ClaimedFile } from '../shared/types';
import { sourceOf, type ActivityDeps } from './deps';
import { claimLost } from './failures';

/**
 * The fenced commit: DONE only if this attempt's token still owns the record. Redis being away fails this
 * activity (Temporal retries it): no commit ever happens without the ledger. When the source has a remote
 * action, the ledger records it as owed: this workflow runs it next, or any poll once a lease length has passed.
 */
export async function commitFile(
  deps: ActivityDeps,
  { file, result }: { file: ClaimedFile; result: Record<string, unknown> },
): Promise<{ alreadyCommitted: boolean }> {
  const source = sourceOf(deps, file.sourceId);
  const actionGraceMs = source.remoteAction.type === 'none' ? undefined : source.retryTimeoutMs;
  const committed = await deps.ledger.commit(file.sourceId, file.path, file.token, JSON.stringify(result), {
    actionGraceMs,
    owner: file.owner,
  });
  if (!committed.ok) throw claimLost(committed.reason);
  return { alreadyCommitted: committed.alreadyCommitted };
}
