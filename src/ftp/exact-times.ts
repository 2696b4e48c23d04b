// A server that lists only minutes (LIST without MLSD: vsftpd, ftp-srv, many appliances) is asked MDTM for every
// file of every listing: 10,000 round trips for 10,000 files, every poll. This keeps the answers, per listed
// directory, and reuses one only once it can no longer hide a new version.
//
// Why reuse is safe only once settled: LIST shows the minute; a same-size rewrite within that minute keeps the
// listing line, and only MDTM tells it apart. An answer T that came back at time A1 (the server read T before
// then, so its clock was past T) and again, unchanged, for an ask sent at A2 ≥ A1 + 60 s was true at a server
// time past T's minute; any later write stamps a later minute, which changes the listing line, which is asked
// again. Elapsed time is this process's monotonic clock, so neither clock skew, the server's zone nor a slow
// round trip matters. Only a writer that sets a file's mtime into the future (and then rewrites it within that
// minute, same size) could slip past; such a writer defeats the (mtime, size) version too.

/** An unchanged MDTM answer settles when asked again at least this long after the first one came back. */
export const SETTLE_AFTER_MS = 60_000;

/** Answers kept per listed directory tree; past this a listing asks MDTM for the rest, as before. */
const MAX_KEPT_PER_LISTING = 200_000;

/** A recent file's time text has no year: answers from a listing this old are not trusted (it could repeat). */
const MAX_LISTING_AGE_MS = 24 * 3_600_000;

export interface ExactTime {
  mtimeMs: number;
  precision: 'ms' | 's';
}

/** One kept answer. A class, not a spread literal: about 125 bytes a file instead of 400 (100,000 files: 12 MiB). */
class Known implements ExactTime {
  constructor(
    readonly mtimeMs: number,
    readonly precision: ExactTime['precision'],
    readonly size: number,
    /** The LIST line's time text the answer belongs to. */
    readonly listed: string,
    /** When this answer first came back. */
    readonly firstAnsweredAt: number,
    readonly settled: boolean,
  ) {}
}

/** What MDTM says of a file: its exact time, 'vanished' (550), or nothing (the server has no MDTM). */
export type MdtmAnswer = ExactTime | 'vanished' | undefined;

/** The exact times of one listing: reads the last complete listing's answers, keeps this one's for the next. */
export interface ListingTimes {
  /**
   * The settled answer for this path if its listing line (size, time text) is unchanged; else `ask()`'s, kept
   * for the next listings.
   */
  exactTime(absPath: string, size: number, listed: string, ask: () => Promise<MdtmAnswer>): Promise<MdtmAnswer>;
  /** The listing completed: its answers replace the last ones (paths no longer listed are forgotten). */
  complete(): void;
}

/** MDTM answers of one server's listings, by listed directory (a worker's memory: another worker asks afresh). */
export class ExactTimes {
  private readonly byListing = new Map<string, { completedAt: number; answers: Map<string, Known> }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  begin(listingRoot: string): ListingTimes {
    const kept = this.byListing.get(listingRoot);
    const fresh = kept !== undefined && this.now() - kept.completedAt < MAX_LISTING_AGE_MS;
    const last = fresh ? kept.answers : new Map<string, Known>();
    const next = new Map<string, Known>();
    const keep = (absPath: string, known: Known): void => {
      if (next.size < MAX_KEPT_PER_LISTING) next.set(absPath, known);
    };
    return {
      exactTime: async (absPath, size, listed, ask) => {
        const known = last.get(absPath);
        const sameLine = known !== undefined && known.size === size && known.listed === listed;
        if (sameLine && known.settled) {
          keep(absPath, known);
          return { mtimeMs: known.mtimeMs, precision: known.precision };
        }
        const sentAt = this.now();
        const answer = await ask();
        if (typeof answer !== 'object') return answer;
        const again = sameLine && known.mtimeMs === answer.mtimeMs;
        const firstAnsweredAt = again ? known.firstAnsweredAt : this.now();
        const settled = sentAt - firstAnsweredAt >= SETTLE_AFTER_MS;
        keep(absPath, new Known(answer.mtimeMs, answer.precision, size, listed, firstAnsweredAt, settled));
        return answer;
      },
      complete: () => {
        this.byListing.set(listingRoot, { completedAt: this.now(), answers: next });
      },
    };
  }
}
