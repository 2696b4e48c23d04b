import { Context } from '@temporalio/activity';
import type { SourceConfig } from '../config';
import type { RemoteEntry } from '../remote';
import { fileVersion } from '../shared/ids';
import { remoteOf, type ActivityDeps } from './deps';
import { runRemoteAction } from './remote-action';
import { goneOf } from './remote-version';

/** Due records one poll looks at; the oldest first, so none starves. */
const DUE_PER_POLL = 1_000;
/** Owed remote actions one poll runs (each is an FTP round trip or two). */
const ACTIONS_PER_POLL = 50;
/** Unlisted finished files one poll asks the server about before forgetting them (a round trip or two each). */
const ABSENCE_CHECKS_PER_POLL = 200;

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
  // An owed action is run (or found moot) by asking the file itself: a listing cut short must not drop it.
  const owed = [...records.values()].flatMap((r) => {
    const { mtimeMs, size } = r;
    const known = r.status === 'DONE' && r.action === 'pending' && mtimeMs !== undefined && size !== undefined;
    return known ? [{ path: r.path, version: r.version, mtimeMs, size }] : [];
  });
  const owedPaths = new Set(owed.map((r) => r.path));
  // Not found, or finished: the vanish script drops them from `due` (and starts the clock of the unfinished).
  const missing = due.filter((path) => {
    const record = records.get(path);
    if (!record || record.status === 'REJECTED') return true;
    if (record.status === 'DONE') return record.action !== 'pending' || (!listed.has(path) && !owedPaths.has(path));
    return !wanted.has(path);
  });

  let remoteActions = 0;
  for (const committed of owed.slice(0, ACTIONS_PER_POLL)) {
    const entry = listed.get(committed.path);
    if (!(await deps.ledger.takeAction(source.id, committed.path, committed.version, source.retryTimeoutMs))) continue;
    try {
      const outcome =
        !entry || committed.version === fileVersion(entry.mtimeMs, entry.size)
          ? await runRemoteAction(deps, source, committed)
          : 'skipped: the remote file changed (a newer version)';
      if (await deps.ledger.actionDone(source.id, committed.path, committed.version, outcome)) remoteActions++;
    } catch (err) {
      // The server is away: the action stays owed (its deadline was pushed by takeAction); a later poll acts.
      Context.current().log.warn('owed remote action failed, left to a later poll', {
        sourceId: source.id,
        path: committed.path,
        error: String(err),
      });
    }
  }
  const { vanished } = await deps.ledger.vanish(source.id, missing, source.vanishAfterMs);
  return { vanished: vanished.length, remoteActions, forgotten };
}

/**
 * Retention: finished records whose file is gone from the server are removed once `forgetAfter` has passed. A
 * listing can be cut short without an error (a data connection closed early ends it like a complete one), and a
 * forgotten record of a file still there would be claimed and committed again: so a file this poll did not list
 * is asked for itself, and only one the server says is not there is forgotten.
 */
async function forgetGone(deps: ActivityDeps, source: SourceConfig, listed: Map<string, RemoteEntry>): Promise<number> {
  const finished = await deps.ledger.finishedBefore(source.id, source.forgetAfterMs, DUE_PER_POLL);
  const unlisted = finished.filter((path) => !listed.has(path)).slice(0, ABSENCE_CHECKS_PER_POLL);
  if (unlisted.length === 0) return 0;
  try {
    const gone = await remoteOf(deps, source).withSession((session) => goneOf(session, source, unlisted));
    return await deps.ledger.forget(source.id, gone, source.forgetAfterMs);
  } catch (err) {
    // Retention can wait for a later poll; the poll's own work cannot.
    Context.current().log.warn('retention check failed, left to a later poll', {
      sourceId: source.id,
      error: String(err),
    });
    return 0;
  }
}
