// A server that lists only minutes (LIST without MLSD: vsftpd, ftp-srv, many appliances) is asked MDTM for every
// file of every listing: 10,000 round trips for 10,000 files, every poll. This keeps the answers, per listed
// directory, and reuses one only once it can no longer hide a new version.
//
// Why reuse is safe only once settled: LIST shows the minute; a same-size rewrite within that minute keeps the
// listing line, and only MDTM tells it apart. An answer T asked at time A1 (server time ≥ T, as the file already
// had T) and again, unchanged, at A2 ≥ A1 + 60 s was true at a server time past T's minute; any later write
// stamps a later minute, which changes the listing line, which is asked again. Elapsed time is this process's
// monotonic clock, so neither clock skew nor the server's zone matters. Only a writer that sets a file's mtime
// into the future (and then rewrites it within that minute, same size) could slip past; such a writer defeats
// the (mtime, size) version too.

/** An unchanged MDTM answer settles once asked again at least this long after the first time. */
export const SETTLE_AFTER_MS = 61_000;

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
    readonly firstAskedAt: number,
    readonly settled: boolean,
  ) {}
}

/** The exact times of one listing: reads the last complete listing's answers, keeps this one's for the next. */
export interface ListingTimes {
  /** A settled answer for this path, if its listing line (size, time text) is unchanged. */
  reuse(absPath: string, size: number, listed: string): ExactTime | undefined;
  /** Records what MDTM answered now. */
  asked(absPath: string, size: number, listed: string, exact: ExactTime): void;
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
    const sameLine = (known: Known | undefined, size: number, listed: string): known is Known =>
      known !== undefined && known.size === size && known.listed === listed;
    return {
      reuse: (absPath, size, listed) => {
        const known = last.get(absPath);
        if (!sameLine(known, size, listed) || !known.settled) return undefined;
        keep(absPath, known);
        return { mtimeMs: known.mtimeMs, precision: known.precision };
      },
      asked: (absPath, size, listed, exact) => {
        const at = this.now();
        const known = last.get(absPath);
        const again = sameLine(known, size, listed) && known.mtimeMs === exact.mtimeMs;
        const firstAskedAt = again ? known.firstAskedAt : at;
        const settled = at - firstAskedAt >= SETTLE_AFTER_MS;
        keep(absPath, new Known(exact.mtimeMs, exact.precision, size, listed, firstAskedAt, settled));
      },
      complete: () => {
        this.byListing.set(listingRoot, { completedAt: this.now(), answers: next });
      },
    };
  }
}
