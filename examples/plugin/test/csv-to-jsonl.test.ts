// The CSV processor without servers: converts, checkpoints every 10k rows, resumes after a kill without
// redoing or duplicating rows, and rejects input that can never succeed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PermanentProcessorError } from 'ftp-ingest/plugin';
import { runProcessor } from 'ftp-ingest/testing';
import { csvToJsonl, type CsvCheckpoint, type CsvResult } from '../src/csv-to-jsonl';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-to-jsonl-'));
const outDir = path.join(dir, 'out');

function csv(rows: number): string {
  const lines = ['id,name,amount'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},"name ${i}, with a comma",${i * 3}`);
  return `${lines.join('\n')}\n`;
}

test('converts every row, checkpoints every 10k, and resumes after a kill from the checkpoint', async () => {
  const file = path.join(dir, 'orders.csv');
  fs.writeFileSync(file, csv(25_000));
  const killed = await runProcessor(csvToJsonl, { localPath: file, options: { outDir }, killAfterCheckpoints: 2 });
  assert.equal(killed.killed, true);
  assert.equal((killed.checkpoint as CsvCheckpoint).row, 20_000);

  const resumed = await runProcessor<CsvResult>(csvToJsonl, {
    localPath: file,
    options: { outDir },
    checkpoint: killed.checkpoint,
  });
  assert.deepEqual(
    { rows: resumed.result?.rows, resumedFromRow: resumed.result?.resumedFromRow, rowsRun: resumed.result?.rowsRun },
    { rows: 25_000, resumedFromRow: 20_000, rowsRun: 5_000 },
  );
  const lines = fs.readFileSync(path.join(outDir, resumed.result!.output), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 25_000, 'each row once: nothing redone twice, nothing skipped');
  lines.forEach((line, i) => assert.equal((JSON.parse(line) as { id: string }).id, String(i + 1)));
  assert.deepEqual(JSON.parse(lines[0]!), { id: '1', name: 'name 1, with a comma', amount: '3' });
});

test('a row with the wrong number of fields rejects the file (permanent)', async () => {
  const file = path.join(dir, 'bad.csv');
  fs.writeFileSync(file, 'a,b\n1,2\n3\n');
  await assert.rejects(runProcessor(csvToJsonl, { localPath: file, options: { outDir } }), PermanentProcessorError);
});
