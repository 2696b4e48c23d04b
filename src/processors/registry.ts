import { checksum } from './checksum';
import { command } from './command';
import { customProcessors } from './custom';
import { delay } from './delay';
import type { AnyProcessor } from './types';

const builtIn: Record<string, AnyProcessor> = { checksum, delay, command };

const registry = new Map<string, AnyProcessor>(Object.entries({ ...builtIn, ...customProcessors }));

/** Registers a processor by name (plugins' processors, or code that embeds the worker). */
export function registerProcessor(name: string, processor: AnyProcessor): void {
  if (registry.get(name) === processor) return; // the same processor again (a second worker in one process)
  if (registry.has(name)) throw new Error(`a processor named ${name} is already registered`);
  registry.set(name, processor);
}

export function processorNames(): string[] {
  return [...registry.keys()];
}

export function getProcessor(name: string): AnyProcessor {
  const processor = registry.get(name);
  if (!processor) throw new Error(`unknown processor ${name}; registered: ${processorNames().join(', ')}`);
  return processor;
}
