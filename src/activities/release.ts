import fs from 'node:fs/promises';
import { configuredSecrets, redactSecrets } from '../config';
import type { ReleaseInput, ReleaseOutcome } from '../shared/types';
import { sourceOf, type ActivityDeps } from './deps';
import { attemptFolder, inside } from './local-paths';
import { dropOrphanPublish } from './publish';

/**
 * Ends a failed attempt in the ledger: RETRY_WAIT until retryTimeout, or REJECTED (with a dead letter) at
 * maxTries or for a permanent failure. A token that no longer owns the record changes nothing: 'superseded'.
 * Removes the attempt's local files either way, and a published copy of the version where it is an extra (a
 * superseded attempt's, or any copy of a version now REJECTED).
 */
export async function releaseFile(
  deps: ActivityDeps,
  { file, error: reason, permanent }: ReleaseInput,
): Promise<ReleaseOutcome> {
  const source = sourceOf(deps, file.sourceId);
  // The reason may come from a workflow processor's failure, which no activity redacted: the ledger keeps none.
  const error = redactSecrets(reason, configuredSecrets(deps.config, deps.env));
  const released = permanent
    ? await deps.ledger.reject(file.sourceId, file.path, file.token, error, file.owner)
    : await deps.ledger.release(file.sourceId, file.path, file.token, error, {
        retryDelayMs: source.retryTimeoutMs,
        maxTries: source.maxTries,
        owner: file.owner,
      });
  await fs.rm(inside(deps.config.workDir, attemptFolder(file)), { recursive: true, force: true });
  if (!released.ok || released.status === 'REJECTED') await dropOrphanPublish(deps, file);
  return { status: released.ok ? released.status : 'superseded' };
}
