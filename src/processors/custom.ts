import type { AnyProcessor } from './types';

/**
 * Your own processors: add a function here and name it in `customProcessors`; a source then selects it with
 * `processor: { name: <key> }`. See checksum.ts and delay.ts for the shape; read the contract in types.ts.
 *
 * Example (with `import type { Processor } from "./types"`): count the commas of a CSV file.
 *
 *   const csvColumns: Processor<{ columns: number }> = async (ctx) => { ... };
 *   export const customProcessors = { 'csv-columns': csvColumns };
 */
export const customProcessors: Record<string, AnyProcessor> = {};
