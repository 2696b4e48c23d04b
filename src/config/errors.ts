// The one error a bad configuration produces: every problem found, each naming the setting, the value given
// (secrets redacted) and what is allowed. Problems come from zod's issues (read through their public fields
// only) and from the cross-field rules (rules.ts).
import type { z } from 'zod';
import { allowedKeys } from './schema';

export interface ConfigIssue {
  /** Full path of the setting: `sources[0].retryTimeout`, `sources.orders.maxTries`, `redis.url`. */
  readonly path: string;
  /** What is wrong, the value given and what is allowed. Never contains a secret. */
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], origin?: string) {
    super(formatIssues(issues, origin));
    this.issues = issues;
  }
}

export class UnknownSourceError extends Error {
  override readonly name = 'UnknownSourceError';
}

function formatIssues(issues: readonly ConfigIssue[], origin?: string): string {
  const where = origin ? ` (${origin})` : '';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return [`Invalid configuration${where}: ${count}`, ...issues.map((i) => `  - ${i.path}: ${i.message}`)].join('\n');
}

// ---- Problems: found in the raw input, before they are rendered into ConfigIssues ----

export interface Problem {
  readonly path: readonly PropertyKey[];
  readonly problem: string;
  readonly allowed?: string;
  /** false when the value must not be echoed (it may be a secret). */
  readonly showGiven?: boolean;
}

export type Raw = Record<string, unknown>;

export function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The raw value at `path`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isRecord(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}

// ---- zod issues → problems ----

/** Literal secrets refused in the file, with the keys to use instead. */
const LITERAL_SECRETS: Record<string, string> = {
  password: 'passwordEnv (name of an environment variable) or passwordFile (path of a file holding it)',
  apiKey: 'apiKeyEnv (name of an environment variable) or apiKeyFile (path of a file holding it)',
};

const SOURCES_ALLOWED = 'a list of sources (each with an id), or a map from source id to source';

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object (key: value)',
  record: 'an object (key: value)',
  null: 'null',
};

export function problemsFromZod(issues: readonly z.core.$ZodIssue[], raw: unknown): Problem[] {
  return issues.flatMap((issue) => problemsOf(issue, raw));
}

function problemsOf(issue: z.core.$ZodIssue, raw: unknown): Problem[] {
  const path = issue.path;
  switch (issue.code) {
    case 'custom':
      return [{ path, problem: issue.message, allowed: (issue.params as { allowed?: string } | undefined)?.allowed }];
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey([...path, key], allowedKeys(path)));
    case 'invalid_type':
      return [
        {
          path,
          problem: valueAt(raw, path) === undefined ? 'required' : 'wrong type',
          allowed: formatPath(path) === 'sources' ? SOURCES_ALLOWED : (TYPE_NAMES[issue.expected] ?? issue.expected),
        },
      ];
    case 'invalid_value':
      return [{ path, problem: 'not an allowed value', allowed: listOf(issue.values) }];
    case 'invalid_union': {
      // A discriminated union names its discriminator's values; a plain union has its own message.
      const options = 'options' in issue ? issue.options : undefined;
      return [{ path, problem: 'not an allowed value', allowed: options ? listOf(options) : issue.message }];
    }
    case 'too_small':
      return [{ path, problem: 'too few items', allowed: `at least ${String(issue.minimum)}` }];
    case 'too_big':
      return [{ path, problem: 'too many items', allowed: `at most ${String(issue.maximum)}` }];
    default:
      return [{ path, problem: issue.message }];
  }
}

function listOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(' | ');
}

function unknownKey(path: PropertyKey[], known: readonly string[]): Problem {
  const key = String(path[path.length - 1]);
  const instead = LITERAL_SECRETS[key];
  if (instead) {
    return {
      path,
      problem: `a literal ${key} is refused: secrets never go in the config file`,
      allowed: instead,
      showGiven: false,
    };
  }
  const near = known.find((k) => isNear(k, key));
  if (near) return { path, problem: `unknown setting (did you mean "${near}"?)`, showGiven: false };
  return { path, problem: 'unknown setting', allowed: known.join(', '), showGiven: false };
}

/** Typos: same ignoring case, or within two edits. */
function isNear(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || editDistance(a.toLowerCase(), b.toLowerCase()) <= 2;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ---- Problems → issues ----

/** Settings whose values are not echoed: people put the secret itself there by mistake. */
const SECRET_REFS = new Set([
  'passwordEnv',
  'passwordFile',
  'apiKeyEnv',
  'apiKeyFile',
  'privateKeyEnv',
  'privateKeyFile',
  'passphraseEnv',
]);

/** Problems → issues. `origins` maps a path ("redis.url") to the environment variable that set it. */
export function toConfigIssues(
  problems: readonly Problem[],
  raw: unknown,
  origins: ReadonlyMap<string, string>,
): ConfigIssue[] {
  return problems.map((p) => {
    const path = formatPath(p.path);
    const last = p.path[p.path.length - 1];
    const secretRef = typeof last === 'string' && SECRET_REFS.has(last);
    const value = valueAt(raw, p.path);
    const origin = origins.get(path);
    const by = origin ? ` by environment variable ${origin}` : '';
    const given =
      p.showGiven === false || value === undefined
        ? ''
        : `: given ${secretRef ? '(not shown)' : showValue(value)}${by}`;
    const allowed = p.allowed ? `; allowed: ${p.allowed}` : '';
    return { path, message: `${p.problem}${given}${allowed}` };
  });
}

/** `['sources', 0, 'retryTimeout']` → `sources[0].retryTimeout`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

const MAX_SHOWN = 80;

/**
 * A given value as shown in a message. Objects and lists are described, not dumped, because they may hold
 * secrets; URLs lose their password (`redis://user:pw@host` → `redis://user:***@host`, valid URL or not).
 */
function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return typeof value;
  const safe = redactUrlPassword(value);
  return JSON.stringify(safe.length > MAX_SHOWN ? `${safe.slice(0, MAX_SHOWN)}…` : safe);
}

/**
 * `redis://user:pw@host` → `redis://user:***@host`, and the values of query parameters (`?password=pw` →
 * `?password=***`); works on strings that are not valid URLs too.
 */
export function redactUrlPassword(text: string): string {
  return text.replace(/(\/\/[^/@\s:]*:)[^@\s]*@/g, '$1***@').replace(/([?&][^=&#\s]*=)[^&#\s]*/g, '$1***');
}
