// How the benches print figures: medians, rounding, the machine's load beside each figure.
import os from 'node:os';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** One figure with its anchor and ratio, printed as soon as it is known. */
export function report(name: string, value: number, unit: string, anchor?: { name: string; value: number }): void {
  const ratio = anchor
    ? ` | anchor ${anchor.name}: ${round(anchor.value)} ${unit} | ratio ${round(value / anchor.value)}`
    : '';
  console.log(`${name}: ${round(value)} ${unit}${ratio} | load ${load()}`);
}
