import type { SourceConfig } from '../config';
import type { Candidate } from '../ledger';
import type { ClaimedFile } from '../shared/types';

/** What a listing left to claim, and its counters (reported again by the rounds that reuse it). */
export interface Listing {
  /** When the server was listed (this worker's clock: only compared with itself). */
  listedAt: number;
  listed: number;
  filteredOut: Record<string, number>;
  candidates: Candidate[];
}

interface Kept {
  /** The poll's first run id: a poll that continued as new goes on claiming from its listing. */
  pollId: string;
  /** listedAt + the source's poll interval: not reused after, and dropped by any later call. */
  expiresAt: number;
  listing: Listing;
}

/** One kept listing per source: the schedule runs one poll of a source at a time. */
const kept = new Map<string, Kept>();

/**
 * A poll whose listing claimed maxAcceptPerPoll files claims again at once (pollWorkflow). Listing a large source
 * again for each round made a backlog of 10,000 files pay a full listing per 100 claims: the later rounds of a
 * poll on this worker claim from its first listing instead, while it is younger than the source's poll
 * interval (no file waits longer than a poll interval would make it wait anyway). Ordered sources list each
 * round: their claim depends on what the previous round left unfinished in each directory.
 */
export function reusableListing(source: SourceConfig, pollId: string, now = Date.now()): Listing | undefined {
  dropExpired(now);
  const entry = kept.get(source.id);
  return entry?.pollId === pollId ? entry.listing : undefined;
}

/** A poll whose next round ran on another worker leaves its listing here: it goes once it is too old to reuse. */
function dropExpired(now: number): void {
  for (const [sourceId, entry] of kept) if (entry.expiresAt < now) kept.delete(sourceId);
}

/**
 * After a claim from `listing`: a round that reached maxAcceptPerPoll, or found the cluster at maxInFlight with
 * candidates left (the poll waits for room), keeps the candidates after the last one it claimed for the poll's
 * next round (those before it were claimed or not claimable); any other round ends the poll, and its listing is
 * dropped.
 */
export function keepForNextRound(
  source: SourceConfig,
  pollId: string,
  listing: Listing,
  claims: readonly Pick<ClaimedFile, 'path'>[],
  inFlightFull = false,
): void {
  if (source.order !== 'none' || (claims.length < source.maxAcceptPerPoll && !inFlightFull)) {
    kept.delete(source.id);
    return;
  }
  const claimed = new Set(claims.map((claim) => claim.path));
  let last = listing.candidates.length - 1;
  while (last >= 0 && !claimed.has(listing.candidates[last]!.path)) last--;
  const rest = { ...listing, candidates: listing.candidates.slice(last + 1) };
  kept.set(source.id, { pollId, expiresAt: listing.listedAt + source.pollIntervalMs, listing: rest });
}
