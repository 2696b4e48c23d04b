// Flag parsers for commander: bad values are refused by the parser (exit 2) with the flag and what is allowed.
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../config';
import { STATUSES, type Status } from '../ledger';

/** An integer flag (`--limit 10`), at least `min`. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  };
}

/** A TCP port flag (`--ftp-port 2121`). */
export function tcpPort(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65_535) {
    throw new InvalidArgumentError(`expected a TCP port (1-65535), got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A ledger status, any case (`done`, `retry_wait`, `retry-wait`). */
export function status(value: string): Status {
  const normalized = value.trim().toUpperCase().replace(/-/g, '_');
  const found = STATUSES.find((s) => s === normalized);
  if (!found)
    throw new InvalidArgumentError(`expected one of ${STATUSES.join(', ')} (any case), got ${JSON.stringify(value)}`);
  return found;
}

/** Repeatable, comma-separated statuses: `--status done --status rejected` or `--status done,rejected`. */
export function statuses(value: string, previous: Status[] | undefined): Status[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .filter((part) => part.trim() !== '')
      .map(status),
  ];
}

/** A repeatable string flag. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A point in time: an ISO date or date-time (`2024-01-02`, `2024-01-02T10:00`, UTC unless it has an offset),
 * epoch milliseconds, or a duration ago (`36h`, `2d`).
 */
export function time(value: string): number {
  const text = value.trim();
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : `${text}Z`;
    const ms = Date.parse(iso);
    if (Number.isFinite(ms)) return ms;
  } else {
    try {
      return Date.now() - parseDuration(text);
    } catch {
      // reported below
    }
  }
  throw new InvalidArgumentError(
    `expected a date (2024-01-02), a date-time (2024-01-02T10:00Z), epoch ms or a duration ago (36h, 2d), got ${JSON.stringify(value)}`,
  );
}
