import { setTimeout as sleep } from 'node:timers/promises';
import type { Processor } from './types';

export interface DelayCheckpoint {
  /** Steps completed so far. */
  step: number;
}

export interface DelayResult {
  steps: number;
  /** Step the run that finished started from: > 0 when it resumed from a checkpoint. */
  resumedFromStep: number;
  stepsRun: number;
}

/**
 * The seed's demo processor: `steps` (default 10) steps of `stepMs` (default 1000) each, with progress and a
 * checkpoint after every step, so a run killed at step 6 resumes at step 6 on another worker.
 */
export const delay: Processor<DelayResult, DelayCheckpoint> = async (ctx) => {
  const steps = numberOption(ctx.options, 'steps', 10);
  const stepMs = numberOption(ctx.options, 'stepMs', 1000);
  const resumedFromStep = Math.min(ctx.checkpoint?.step ?? 0, steps);
  for (let step = resumedFromStep; step < steps; step++) {
    await sleep(stepMs, undefined, { signal: ctx.signal });
    ctx.heartbeat({ done: step + 1, total: steps, unit: 'steps' }, { step: step + 1 });
  }
  return { steps, resumedFromStep, stepsRun: steps - resumedFromStep };
};

function numberOption(options: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`delay processor: option ${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return value;
}
