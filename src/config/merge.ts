// Layering of file, environment and programmatic overrides: objects merge key by key, anything else
// (lists included) is replaced by the later layer. `undefined` in a later layer changes nothing.
import { isRecord } from './problems';

/** Every field optional, at any depth; lists are replaced whole, so their items stay as they are. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export function mergeLayers(...layers: unknown[]): unknown {
  return layers.reduce((acc, layer) => mergeTwo(acc, layer), undefined);
}

function mergeTwo(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeTwo(base[key], value);
  return out;
}
