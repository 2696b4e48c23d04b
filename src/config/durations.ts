// Durations: the file may say "250ms", "90s", "5m", "1h", "1d", "1h30m", "1.5s" or a number of milliseconds.
// Pure functions (no Node built-ins), usable anywhere, workflow code included.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Human description of what `parseDuration` accepts, for error messages. */
export const DURATION_FORMS = 'a number of milliseconds, or a string like "250ms", "90s", "5m", "1h", "1h30m"';

/**
 * Milliseconds of a duration. Throws a `RangeError` saying what is accepted.
 * A bare number string ("60") is refused: it is too easy to mean seconds and get milliseconds.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return parseMillis(value);
  const text = value.trim();
  if (text === '') throw new RangeError('empty duration');
  if (/^\d+(\.\d+)?$/.test(text))
    throw new RangeError(`duration "${text}" has no unit (write "${text}ms" or "${text}s")`);
  if (!WHOLE.test(text)) throw new RangeError(`"${text}" is not a duration`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as Unit];
  return Math.round(total);
}

function parseMillis(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${value} is not a duration (must be >= 0 ms)`);
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not a whole number of milliseconds`);
  return value;
}

/** Compact form of a duration for messages: 35000 → "35s", 90000 → "1m30s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * UNIT_MS[unit];
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}
