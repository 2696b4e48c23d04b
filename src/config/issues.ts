// Turns zod issues and rule problems into ConfigIssues: full path, value given (unless it may be a secret),
// what is allowed, and where an environment variable set the value.
import type { z } from 'zod';
import { type ConfigIssue, formatPath, showValue } from './errors';
import { type Problem, valueAt } from './problems';

/** Literal secrets refused in the file, with the keys to use instead. */
const LITERAL_SECRETS: Record<string, string> = {
  password: 'passwordEnv (name of an environment variable) or passwordFile (path of a file holding it)',
  apiKey: 'apiKeyEnv (name of an environment variable) or apiKeyFile (path of a file holding it)',
};

/** Settings whose values are not echoed: people put the secret itself there by mistake. */
const SECRET_REFS = new Set(['passwordEnv', 'passwordFile', 'apiKeyEnv', 'apiKeyFile']);

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

export function problemsFromZod(issues: readonly z.core.$ZodIssue[], raw: unknown, schema: z.ZodType): Problem[] {
  return issues.flatMap((issue) => problemsOf(issue, raw, schema));
}

function problemsOf(issue: z.core.$ZodIssue, raw: unknown, schema: z.ZodType): Problem[] {
  const path = issue.path;
  switch (issue.code) {
    case 'custom':
      return [{ path, problem: issue.message, allowed: (issue.params as { allowed?: string } | undefined)?.allowed }];
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey([...path, key], knownKeysAt(schema, path)));
    case 'invalid_type':
      return [
        {
          path,
          problem: valueAt(raw, path) === undefined ? 'required' : 'wrong type',
          allowed: formatPath(path) === 'sources' ? SOURCES_ALLOWED : (TYPE_NAMES[issue.expected] ?? issue.expected),
        },
      ];
    case 'invalid_value':
      return [
        { path, problem: 'not an allowed value', allowed: issue.values.map((v) => JSON.stringify(v)).join(' | ') },
      ];
    case 'invalid_union':
      return [{ path, problem: 'not an allowed value', allowed: unionAllowed(issue) }];
    case 'too_small':
    case 'too_big':
      return [
        { path, problem: issue.code === 'too_small' ? 'too few items' : 'too many items', allowed: bound(issue) },
      ];
    default:
      return [{ path, problem: issue.message }];
  }
}

function unknownKey(path: PropertyKey[], known: string[]): Problem {
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

function unionAllowed(issue: z.core.$ZodIssueInvalidUnion): string {
  const options = (issue as { options?: unknown[] }).options;
  return options ? options.map((o) => JSON.stringify(o)).join(' | ') : issue.message;
}

function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  return `${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(limit)}`;
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

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): SchemaDef {
  return schema._zod.def;
}

/** Keys of the object schema at `path`, found by walking the schema (for "did you mean"). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return objectsAt(schema, path).flatMap((s) => Object.keys(defOf(s).shape ?? {}));
}

function objectsAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  const def = defOf(schema);
  const inner = def.innerType ?? def.in;
  if (inner) return objectsAt(inner, path);
  if (def.options) return def.options.flatMap((o) => objectsAt(o, path));
  if (path.length === 0) return def.type === 'object' ? [schema] : [];
  const [key, ...rest] = path;
  const next = def.shape?.[String(key)] ?? def.element ?? def.valueType;
  return next ? objectsAt(next, rest) : [];
}

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
