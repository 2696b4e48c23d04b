import type { ClaimedFile } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { claimLost } from './failures';

/**
 * The fenced commit: DONE only if this attempt's token still owns the record. Redis being away fails this
 * activity (Temporal retries it): no commit ever happens without the ledger.
 */
export async function commitFile(
  deps: ActivityDeps,
  { file, result }: { file: ClaimedFile; result: Record<string, unknown> },
): Promise<{ alreadyCommitted: boolean }> {
  const committed = await deps.ledger.commit(file.sourceId, file.path, file.token, JSON.stringify(result));
  if (!committed.ok) throw claimLost(committed.reason);
  return { alreadyCommitted: committed.alreadyCommitted };
}
