import fs from 'node:fs';
import path from 'node:path';

/** Writes `count` CSV files of different sizes (1–64 KiB) into `dir`: the demo's incoming files. */
export function writeSampleFiles(dir: string, count: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `orders-${String(i).padStart(4, '0')}.csv`;
    const rows = 16 + ((i * 97) % 1000);
    const lines = ['order_id,customer,amount'];
    for (let row = 0; row < rows; row++)
      lines.push(`${i * 100_000 + row},customer-${(row * 31) % 977},${(row % 500) + 0.99}`);
    fs.writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
    names.push(name);
  }
  return names;
}
