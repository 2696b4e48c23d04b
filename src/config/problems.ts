// A problem found in the configuration, before it is rendered into a ConfigIssue (issues.ts).

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
