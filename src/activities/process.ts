import fs from 'node:fs/promises';
import { configuredSecrets, formatDuration } from '../config';
import { getProcessor, PermanentProcessorError, type Progress } from '../processors';
import { idempotencyKeyOf } from '../shared/ids';
import { Reasons, type ClaimedFile, type ProcessResult } from '../shared/types';
import { sourceOf, type ActivityDeps } from './deps';
import { attemptFailed, permanentFailure, retryOrFail } from './failures';
import { leaseFor, withLease } from './lease-keeper';
import { keptCheckpoint, redacted, shortResult } from './processor-output';
import { inside } from './local-paths';
import { isTransient } from './transient';

interface ProcessDetails {
  progress?: Progress;
  checkpoint?: unknown;
}

/**
 * Runs the source's processor on the downloaded file. A run on another worker after a crash gets the last
 * checkpoint the processor saved, so it resumes instead of starting over.
 */
export async function processFile(
  deps: ActivityDeps,
  { file, localPath }: { file: ClaimedFile; localPath: string },
): Promise<ProcessResult> {
  const source = sourceOf(deps, file.sourceId);
  const processor = getProcessor(source.processor.name);
  const absolute = inside(deps.config.workDir, localPath);
  return withLease<ProcessDetails, ProcessResult>(leaseFor(deps.ledger, source, file, 'process'), async (lease) => {
    await assertLocalCopy(absolute, file);
    let checkpoint = lease.previous?.checkpoint;
    const deadline = processDeadline(source.processTimeoutMs);
    // A checkpoint the product cannot keep ends the run at once: the processor's signal aborts and it fails.
    const refused = new AbortController();
    const checkpointRefused = failsOnAbort(refused.signal);
    // Once per run, not per heartbeat: a processor may save a checkpoint every few rows.
    const secrets = secretsOf(deps);
    try {
      const running = processor({
        localPath: absolute,
        file: {
          sourceId: file.sourceId,
          path: file.path,
          version: file.version,
          mtimeMs: file.mtimeMs,
          size: file.size,
        },
        idempotencyKey: idempotencyKeyOf(file),
        token: file.token,
        checkpoint,
        options: source.processor.options,
        signal: AbortSignal.any([lease.signal, deadline.signal, refused.signal]),
        heartbeat(progress, next) {
          if (refused.signal.aborted) return;
          if (next !== undefined) {
            try {
              checkpoint = keptCheckpoint(next, secrets);
            } catch (err) {
              refused.abort(err);
              return;
            }
          }
          lease.heartbeat({ progress, checkpoint }, next !== undefined);
        },
      });
      // A processor that ignores its signal still cannot hold the file (and the slot) past the deadline, a lost
      // claim or a cancellation: the run ends, and the processor goes on in the background (docs/EXTENDING.md).
      const result = await Promise.race([running, deadline.expired, checkpointRefused, failsOnAbort(lease.signal)]);
      return { processor: source.processor.name, result: shortResult(result, secretsOf(deps)) };
    } catch (thrown) {
      // A processor's output (a command's stderr tail, say) may quote the worker's environment: the error goes
      // to history and the ledger, so no configured secret may stay in it.
      const err = redacted(thrown, secretsOf(deps));
      if (isPermanent(thrown)) throw permanentFailure(err.message);
      // The run's own ends (a lost claim, a cancellation) are not failures of the processor.
      if (thrown !== lease.signal.reason) failedInProcessor.add(err);
      throw err;
    } finally {
      deadline.clear();
    }
  }).catch((err: unknown) => retryOrFail(err, isEnvironment));
}

/**
 * Errors the processor threw. Whatever they carry (its own database's ECONNREFUSED, say), they are the
 * processor's failures and count (docs/EXTENDING.md): only the product's own servers being away is waited for
 * without counting, or a processor whose dependency is down would hold its files for ever.
 */
const failedInProcessor = new WeakSet<object>();

function isEnvironment(err: unknown): boolean {
  return !(typeof err === 'object' && err !== null && failedInProcessor.has(err)) && isTransient(err);
}

interface ProcessDeadline {
  /** Aborted when the processor runs out of time. */
  signal: AbortSignal;
  /** Rejects with the attempt's 'process-timeout' failure then. */
  expired: Promise<never>;
  clear(): void;
}

/** One run of a processor may take `timeoutMs`; then the attempt fails (and counts as a try). */
function processDeadline(timeoutMs: number): ProcessDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      attemptFailed(
        `${Reasons.processTimeout}: the processor did not finish within ${formatDuration(timeoutMs)} (processTimeout)`,
      ),
    );
  }, timeoutMs);
  return { signal: controller.signal, expired: failsOnAbort(controller.signal), clear: () => clearTimeout(timer) };
}

/** Rejects with the signal's reason when it aborts: a run's race ends with it, whatever the processor does. */
function failsOnAbort(signal: AbortSignal): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  failed.catch(() => undefined); // observed by the race; never an unhandled rejection once the run is over
  return failed;
}

async function assertLocalCopy(absolute: string, file: ClaimedFile): Promise<void> {
  const size = await fs.stat(absolute).then(
    (s) => s.size,
    () => undefined,
  );
  if (size !== file.size) throw attemptFailed(`local copy of ${file.path} is missing or incomplete`);
}

function secretsOf(deps: ActivityDeps): string[] {
  return configuredSecrets(deps.config, deps.env);
}

/**
 * By name as well as by class: a plugin's `ftp-ingest/plugin` may be another copy of the class than the worker's
 * (the worker compiled to lib/, the plugin on the sources; or the plugin's own installed copy).
 */
/** By class, or by name (a plugin's own copy of the class, or a plain object thrown with that name). */
function isPermanent(thrown: unknown): boolean {
  if (thrown instanceof PermanentProcessorError) return true;
  return (
    typeof thrown === 'object' && thrown !== null && (thrown as { name?: unknown }).name === 'PermanentProcessorError'
  );
}
