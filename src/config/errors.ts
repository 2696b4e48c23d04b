// The one error a bad configuration produces: every problem found, each naming the setting, the value given
// (secrets redacted) and what is allowed.

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

function formatIssues(issues: readonly ConfigIssue[], origin?: string): string {
  const where = origin ? ` (${origin})` : '';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return [`Invalid configuration${where}: ${count}`, ...issues.map((i) => `  - ${i.path}: ${i.message}`)].join('\n');
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
 * secrets; URLs lose their password.
 */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return typeof value;
  const safe = redactUrlPassword(value);
  return JSON.stringify(safe.length > MAX_SHOWN ? `${safe.slice(0, MAX_SHOWN)}…` : safe);
}

/** `redis://user:pw@host` → `redis://user:***@host`; works on strings that are not valid URLs too. */
export function redactUrlPassword(text: string): string {
  return text.replace(/(\/\/[^/@\s:]*:)[^@\s]*@/g, '$1***@');
}
