// Field schemas shared by the config schema and the cross-field rules. Each failure is a custom issue whose
// message is the problem and whose `params.allowed` says what is accepted; issues.ts adds path and value.
import { z } from 'zod';
import { PATTERN_FLAGS } from '../shared/patterns';
import { DURATION_FORMS, parseDuration } from './durations';
import { parseRedisUrl, RedisUrlError } from './redis-url';

/** Records a problem on the value being checked (or on `path` below it). */
export function invalid(ctx: z.RefinementCtx, problem: string, allowed: string, path?: PropertyKey[]): void {
  ctx.addIssue({ code: 'custom', message: problem, params: { allowed }, ...(path ? { path } : {}) });
}

/** A duration in the file ("90s" or ms); milliseconds out. */
export function duration(min = 0) {
  return z.union([z.string(), z.number()]).transform((value, ctx): number => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      const unitless = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value);
      invalid(ctx, unitless ? 'duration without a unit (write "60s" for seconds)' : 'not a duration', DURATION_FORMS);
      return z.NEVER;
    }
    if (ms < min) invalid(ctx, 'too short', `at least ${min}ms (${DURATION_FORMS})`);
    return ms;
  });
}

/** An integer in [min, max]; one message states the whole range. */
export function intRange(min: number, max?: number) {
  const allowed = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return z.number().superRefine((n, ctx) => {
    if (!Number.isInteger(n)) invalid(ctx, 'not an integer', allowed);
    else if (n < min || (max !== undefined && n > max)) invalid(ctx, 'out of range', allowed);
  });
}

/** One of a fixed set of values (booleans included), with the set named in the message. */
export function oneOf<const T extends string | boolean>(values: readonly T[]) {
  const allowed = values.map((v) => JSON.stringify(v)).join(' | ');
  return z.unknown().transform((value, ctx): T => {
    if (values.includes(value as T)) return value as T;
    invalid(ctx, 'not an allowed value', allowed);
    return z.NEVER;
  });
}

/** A string matching `pattern`, described by `allowed`. */
export function matching(pattern: RegExp, allowed: string) {
  return z.string().superRefine((s, ctx) => {
    if (!pattern.test(s)) invalid(ctx, 'not valid', allowed);
  });
}

const ID_ALLOWED = '1 to 64 characters from A-Z a-z 0-9 _ . - (not only dots)';
const ID = /^(?!\.+$)[A-Za-z0-9_.-]{1,64}$/;

/** Source and cluster ids: they end up in Redis keys, workflow ids and local paths (hence no "." or ".."). */
export const idField = matching(ID, ID_ALLOWED);

/** Validates an id that is not a schema field (a key of the `sources` map). */
export function checkId(id: string): string | undefined {
  return ID.test(id) ? undefined : ID_ALLOWED;
}

export const envVarName = matching(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name ([A-Za-z_][A-Za-z0-9_]*)');

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const nonEmpty = z.string().superRefine((s, ctx) => {
  if (s.trim() === '' || CONTROL.test(s)) invalid(ctx, 'empty or has control characters', 'a non-empty string');
});

export const hostField = matching(/^[A-Za-z0-9.:[\]_-]+$/, 'a host name or IP address');

/** "host:port" or "[v6]:port". */
export const hostPort = matching(
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/,
  'host:port, e.g. "127.0.0.1:7233" or "temporal.example.com:7233"',
);

/** An absolute remote directory, normalized to "/" or "/a/b"; ".." segments refused. */
export const remoteDir = z.string().transform((s, ctx): string => {
  const segments = s.split('/').filter((seg) => seg !== '' && seg !== '.');
  if (!s.startsWith('/') || segments.includes('..') || CONTROL.test(s)) {
    invalid(ctx, 'not an absolute remote path', 'a path starting with "/", without ".." or control characters');
    return z.NEVER;
  }
  return `/${segments.join('/')}`;
});

/** A JavaScript regular expression source, checked by compiling it as the filters do. */
export const regexSource = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s, PATTERN_FLAGS);
  } catch (err) {
    invalid(
      ctx,
      (err as Error).message,
      'a JavaScript regular expression (unicode mode: no needless escapes like \\_)',
    );
  }
});

export const timeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    invalid(ctx, 'unknown time zone', 'an IANA time zone name such as "UTC" or "Europe/Berlin"');
  }
});

/** A Redis URL of one of the forms of redis-url.ts (one node, Sentinel, Cluster), without a password. */
export const redisUrl = z.string().superRefine((s, ctx) => {
  try {
    parseRedisUrl(s);
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    invalid(ctx, err.problem, err.allowed);
  }
});
