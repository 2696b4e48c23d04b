// Exit codes scripts can rely on, and the one- or two-line messages an operator sees instead of stack traces.
import { ConfigError, SecretError, UnknownSourceError } from '../config';

export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** Some items failed; each is named in the output. */
  failed: 1,
  /** Usage or configuration error: a flag, an argument, the config file, a secret, a login, a remote dir. */
  usage: 2,
  /** A server could not be reached (Redis, Temporal, an FTP server), or no worker took the work. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as its message alone (plus the cause's stack with --verbose). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string, cause?: unknown): CliError => new CliError(message, EXIT.usage, { cause });
export const unreachableError = (message: string, cause?: unknown): CliError =>
  new CliError(message, EXIT.unreachable, { cause });

/** The first line of an error's message, without the noise libraries add. */
export function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const first = (text.split('\n').find((line) => line.trim() !== '') ?? text).trim();
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}

/** Any error as a CliError: known kinds get their exit code; anything else is exit 1 with its message. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError || err instanceof UnknownSourceError || err instanceof SecretError) {
    return new CliError(err.message, EXIT.usage, { cause: err });
  }
  return new CliError(shortReason(err), EXIT.failed, { cause: err });
}

/** The stack of an error and of its causes, for --verbose. */
export function fullStack(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    parts.push(e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}
