// What a processor hands back to the product — its result, its checkpoints, what it throws — made fit to keep:
// JSON, short, and with no configured secret left in it (all of it goes to workflow history and the ledger).
import { ApplicationFailure } from '@temporalio/common';
import { redactSecrets } from '../config';
import { attemptFailed, permanentFailure } from './failures';

/** Results are stored in the ledger and in workflow history: keep them short. */
export const MAX_RESULT_BYTES = 4_096;

/**
 * Checkpoints go to Temporal with every heartbeat; the server refuses details over 2 MiB, and the refusal fails
 * the run outside the processor, run after run. Offsets and counters are far below this.
 */
export const MAX_CHECKPOINT_BYTES = 256 * 1024;

/**
 * The thrown value with no configured secret left in it: an Error's message, stack and causes (history keeps the
 * cause chain), or, for a thrown string or object (which Temporal and the log would show whole), an Error saying
 * what was thrown.
 */
export function redacted(thrown: unknown, secrets: readonly string[], depth = 0): Error {
  if (!(thrown instanceof Error)) return new Error(redactSecrets(describeThrown(thrown), secrets));
  try {
    // In place, so that its class and fields (an ApplicationFailure's type, nonRetryable) stay as they were.
    thrown.message = redactSecrets(thrown.message, secrets);
    if (thrown.stack) thrown.stack = redactSecrets(thrown.stack, secrets);
    if (thrown.cause !== undefined) {
      thrown.cause = depth < 5 ? redacted(thrown.cause, secrets, depth + 1) : new Error('(cause chain cut)');
    }
    return thrown;
  } catch {
    // A frozen error, or one whose message is a getter: a copy, redacted, that keeps what Temporal reads of it.
    const message = redactSecrets(String(thrown.message), secrets);
    if (thrown instanceof ApplicationFailure) {
      const { type, nonRetryable, details } = thrown;
      return ApplicationFailure.create({
        message,
        type: type ?? undefined,
        nonRetryable: nonRetryable ?? undefined,
        details: details ?? undefined,
      });
    }
    return Object.assign(new Error(message), { name: thrown.name });
  }
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return `a non-Error value was thrown: ${JSON.stringify(value) ?? String(value)}`;
  } catch {
    return `a non-Error value was thrown: ${String(value)}`;
  }
}

/** The checkpoint as Temporal will keep it: JSON, within MAX_CHECKPOINT_BYTES, no configured secret in it. */
export function keptCheckpoint(checkpoint: unknown, secrets: readonly string[]): unknown {
  const json = jsonOf(checkpoint, 'checkpoint');
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_CHECKPOINT_BYTES) {
    throw permanentFailure(
      `processor checkpoint is ${bytes} bytes, over ${MAX_CHECKPOINT_BYTES}: checkpoint offsets and counters, not data`,
    );
  }
  return JSON.parse(redactSecrets(json, jsonEscaped(secrets))) as unknown;
}

/** `value` as JSON; a value that has none (BigInt, a cycle, a function) would fail every run alike: permanent. */
function jsonOf(value: unknown, what: 'checkpoint' | 'result'): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw permanentFailure(`processor ${what} is not JSON: ${String(err)}`);
  }
  if (json === undefined) throw permanentFailure(`processor ${what} is not JSON (a function or a symbol?)`);
  return json;
}

/** Secrets as they appear inside a JSON string. */
function jsonEscaped(secrets: readonly string[]): string[] {
  return secrets.map((s) => JSON.stringify(s).slice(1, -1));
}

/** The processor's result as the ledger and history keep it: JSON (nothing returned: `{}`), short, no secret. */
export function shortResult(result: object | undefined, secrets: readonly string[]): Record<string, unknown> {
  const json = redactSecrets(jsonOf(result ?? {}, 'result'), jsonEscaped(secrets));
  if (Buffer.byteLength(json) > MAX_RESULT_BYTES) {
    throw attemptFailed(`processor result is over ${MAX_RESULT_BYTES} bytes: store large outputs yourself`);
  }
  return JSON.parse(json) as Record<string, unknown>;
}
