import { Context } from '@temporalio/activity';
import type { SourceConfig } from '../config';
import type { RemoteEntry } from '../remote';
import { fileVersion } from '../shared/ids';
import type { ActivityDeps } from './deps';
import { runRemoteAction } from './remote-action';

/** Due records one poll looks at; the oldest first, so none starves. */
const DUE_PER_POLL = 1_000;
/** Owed remote actions one poll runs (each is an FTP round trip or two). */
const ACTIONS_PER_POLL = 50;

export interface SweepResult {
  /** Unfinished files REJECTED as vanished. */
  vanished: number;
  /** Finished records of files gone from the server, removed (retention). */
  forgotten: number;
  /** Remote actions finished for committing workflows that did not (their cluster may be gone). */
  remoteActions: number;
}

/**
 * Every unfinished record has a deadline in the ledger; once it passes, some poll acts on it, whichever cluster
 * it runs in (DESIGN.md §4b): a listed file with an ended lease or a due retry was just claimed again; a file no
 * longer listed (or no longer wanted by the filters) starts its vanish clock and ends REJECTED ('vanished');
 * a committed version whose remote action is still owed gets it from this poll.
 */
export async function sweepDue(
  deps: ActivityDeps,
  source: SourceConfig,
  listing: { listed: RemoteEntry[]; wanted: RemoteEntry[] },
): Promise<SweepResult> {
  const listed = new Map(listing.listed.map((entry) => [entry.path, entry]));
  const forgotten = await forgetGone(deps, source, listed);
  const due = await deps.ledger.duePaths(source.id, DUE_PER_POLL);
  if (due.length === 0) return { vanished: 0, remoteActions: 0, forgotten };
  const wanted = new Set(listing.wanted.map((entry) => entry.path));
  const records = new Map((await deps.ledger.records(source.id, due)).map((r) => [r.path, r]));
  const owed = [...records.values()].filter((r) => r.status === 'DONE' && r.action === 'pending' && listed.has(r.path));
  // Not found, or finished: the vanish script drops them from `due` (and starts the clock of the unfinished).
  const missing = due.filter((path) => {
    const record = records.get(path);
    if (!record || record.status === 'REJECTED') return true;
    if (record.status === 'DONE') return record.action !== 'pending' || !listed.has(path);
    return !wanted.has(path);
  });

  let remoteActions = 0;
  for (const record of owed.slice(0, ACTIONS_PER_POLL)) {
    const entry = listed.get(record.path);
    if (!entry || record.mtimeMs === undefined || record.size === undefined) continue;
    if (!(await deps.ledger.takeAction(source.id, record.path, record.version, source.retryTimeoutMs))) continue;
    const committed = { path: record.path, version: record.version, mtimeMs: record.mtimeMs, size: record.size };
    try {
      const outcome =
        record.version === fileVersion(entry.mtimeMs, entry.size)
          ? await runRemoteAction(deps, source, committed, entry)
          : 'skipped: the remote file changed (a newer version)';
      if (await deps.ledger.actionDone(source.id, record.path, record.version, outcome)) remoteActions++;
    } catch (err) {
      // The server is away: the action stays owed (its deadline was pushed by takeAction); a later poll acts.
      Context.current().log.warn('owed remote action failed, left to a later poll', {
        sourceId: source.id,
        path: record.path,
        error: String(err),
      });
    }
  }
  const { vanished } = await deps.ledger.vanish(source.id, missing, source.vanishAfterMs);
  return { vanished: vanished.length, remoteActions, forgotten };
}

/** Retention: finished records whose file this poll did not find are removed once `forgetAfter` has passed. */
async function forgetGone(deps: ActivityDeps, source: SourceConfig, listed: Map<string, RemoteEntry>): Promise<number> {
  const finished = await deps.ledger.finishedBefore(source.id, source.forgetAfterMs, DUE_PER_POLL);
  const gone = finished.filter((path) => !listed.has(path));
  return deps.ledger.forget(source.id, gone, source.forgetAfterMs);
}
