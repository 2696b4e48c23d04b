// Runs a processor outside Temporal, with the context a worker gives it: for a plugin's unit tests.
import fs from 'node:fs';
import { keptCheckpoint, shortResult } from '../activities/processor-output';
import { idempotencyKeyOf } from '../shared/ids';
import type { AnyProcessor, FileIdentity, Progress } from '../processors/types';

export interface RunProcessorOptions {
  /** The local copy the processor reads. */
  localPath: string;
  /** The processor's options, as a source would give them. */
  options?: Record<string, unknown>;
  /** Identity of the file (default: source `test`, path = the file's name, version from its mtime and size). */
  file?: Partial<FileIdentity>;
  token?: number;
  /** A checkpoint from an earlier run (see `killAfterCheckpoints`): the processor resumes from it. */
  checkpoint?: unknown;
  /**
   * Simulates a worker killed right after the processor saved this many checkpoints: its signal is aborted, the
   * run is awaited until it stops, and it ends `killed`, with the last checkpoint (what a worker that takes over
   * would get). The processor must stop on its signal.
   */
  killAfterCheckpoints?: number;
}

export interface ProcessorRun<Result = object> {
  /** The result, unless the run was killed. */
  result?: Result;
  killed: boolean;
  /** The last checkpoint saved (the one a resumed run starts from). */
  checkpoint: unknown;
  /** Every checkpoint saved, in order. */
  checkpoints: unknown[];
  /** Every progress report, in order. */
  progress: Progress[];
}

/**
 * Runs `processor` once; a `PermanentProcessorError` or any other error is thrown as the worker would see it. The
 * worker's rules on what a processor hands back apply: a checkpoint that is not JSON or over 256 KiB aborts the
 * run and it throws the reason, and the result is what the worker would keep (its JSON form; nothing returned:
 * `{}`), or it throws.
 */
export async function runProcessor<Result extends object>(
  processor: AnyProcessor,
  run: RunProcessorOptions,
): Promise<ProcessorRun<Result>> {
  const stat = fs.statSync(run.localPath);
  const size = run.file?.size ?? stat.size;
  const mtimeMs = run.file?.mtimeMs ?? Math.floor(stat.mtimeMs);
  const file: FileIdentity = {
    sourceId: 'test',
    path: run.localPath.split(/[\\/]/).pop() ?? 'file',
    version: `${mtimeMs}-${size}`,
    mtimeMs,
    size,
    ...run.file,
  };
  const controller = new AbortController();
  let refused: Error | undefined;
  const outcome: ProcessorRun<Result> = { killed: false, checkpoint: run.checkpoint, checkpoints: [], progress: [] };
  const killed = new Promise<'killed'>((resolve) =>
    controller.signal.addEventListener('abort', () => resolve('killed')),
  );
  const running = processor({
    localPath: run.localPath,
    file,
    idempotencyKey: idempotencyKeyOf(file),
    token: run.token ?? 1,
    checkpoint: run.checkpoint,
    options: run.options ?? {},
    signal: controller.signal,
    heartbeat(progress, checkpoint) {
      if (controller.signal.aborted) return;
      outcome.progress.push(progress);
      if (checkpoint === undefined) return;
      try {
        keptCheckpoint(checkpoint, []);
      } catch (err) {
        // As in the worker: the run's signal aborts and the run fails with the reason, whatever the processor does.
        refused = err as Error;
        controller.abort(refused);
        return;
      }
      outcome.checkpoint = checkpoint;
      outcome.checkpoints.push(checkpoint);
      if (outcome.checkpoints.length === run.killAfterCheckpoints) controller.abort(new Error('killed (test)'));
    },
  });
  const first = await Promise.race([running, killed]);
  if (refused) {
    await running.catch(() => undefined);
    throw refused;
  }
  if (first === 'killed') {
    // A killed worker does nothing more: wait until the aborted run has stopped before anyone resumes it.
    await running.catch(() => undefined);
    return { ...outcome, killed: true };
  }
  return { ...outcome, result: shortResult(first, []) as Result };
}
