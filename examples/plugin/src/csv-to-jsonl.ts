// A processor: CSV in, JSON lines out (one object per row, keyed by the header), with a checkpoint every 10k
// rows, so a run on a killed worker resumes on another worker from the last checkpoint instead of row 1.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentProcessorError, type Processor, type ProcessorContext } from 'ftp-ingest/plugin';

export interface CsvOptions {
  /** Where the JSON-lines files go (relative: to the worker's working directory). */
  outDir: string;
  /** Rows between checkpoints (default 10,000). */
  checkpointEvery?: number;
  /** A pause after every 1,000 rows, in ms: slows the demo down enough to kill a worker mid-file. */
  delayPer1kRowsMs?: number;
}

/** Saved with the heartbeat: where the next run starts. Short on purpose: it goes to Temporal. */
export interface CsvCheckpoint {
  /** Data rows written so far. */
  row: number;
  /** Byte offset in the CSV file just after the last row written. */
  inputOffset: number;
  /** Bytes of the output's part file at that point. */
  outputBytes: number;
}

export interface CsvResult {
  rows: number;
  /** The row the finishing run started from (> 0: it resumed from a checkpoint). */
  resumedFromRow: number;
  /** Rows this run converted: rows − resumedFromRow. */
  rowsRun: number;
  /** The JSON-lines file, relative to outDir. */
  output: string;
}

const NEWLINE = 0x0a;

export const csvToJsonl: Processor<CsvResult, CsvCheckpoint> = async (ctx) => {
  const options = csvOptions(ctx.options);
  fs.mkdirSync(options.outDir, { recursive: true });
  // Idempotent output: the name comes from the idempotency key (one per file version), and the file appears
  // whole, by rename. A run again of the same version (at-least-once) writes the same bytes under the same name.
  const name = outputName(ctx.idempotencyKey);
  const final = path.join(options.outDir, name);
  // Fenced part file: an older attempt still running (its token is lower) never writes into this one's.
  const part = `${final}.part-${ctx.token}`;

  const header = await readHeader(ctx.localPath);
  const resume = resumePoint(ctx.checkpoint, part, header.endOffset);
  fs.truncateSync(openForAppend(part), resume.outputBytes);

  const out = await fs.promises.open(part, 'a');
  let { row, outputBytes } = resume;
  let inputOffset = resume.inputOffset;
  let batch = '';
  const flush = async (): Promise<void> => {
    if (batch === '') return;
    const bytes = Buffer.from(batch);
    await out.write(bytes);
    outputBytes += bytes.length;
    batch = '';
  };
  try {
    for await (const line of linesFrom(ctx.localPath, inputOffset, ctx.signal)) {
      inputOffset = line.endOffset;
      if (line.text === '') continue;
      const values = parseCsvLine(line.text);
      if (values.length !== header.columns.length) {
        throw new PermanentProcessorError(
          `row ${row + 1} has ${values.length} fields, the header has ${header.columns.length}`,
        );
      }
      batch += `${JSON.stringify(Object.fromEntries(header.columns.map((c, i) => [c, values[i]])))}\n`;
      row++;
      if (row % 1_000 === 0) await everyThousandRows(ctx, options, { row, inputOffset }, flush);
      if (row % options.checkpointEvery === 0) {
        await flush();
        await out.sync(); // the checkpoint promises these bytes: make them durable first
        ctx.heartbeat({ done: inputOffset, total: ctx.file.size, unit: 'bytes' }, { row, inputOffset, outputBytes });
      }
    }
    await flush();
    await out.sync();
  } finally {
    await out.close();
  }
  fs.renameSync(part, final);
  return { rows: row, resumedFromRow: resume.row, rowsRun: row - resume.row, output: name };
};

async function everyThousandRows(
  ctx: ProcessorContext<CsvCheckpoint>,
  options: Required<CsvOptions>,
  at: { row: number; inputOffset: number },
  flush: () => Promise<void>,
): Promise<void> {
  await flush();
  ctx.heartbeat({ done: at.inputOffset, total: ctx.file.size, unit: 'bytes' }); // progress only
  if (options.delayPer1kRowsMs > 0) await sleep(options.delayPer1kRowsMs, undefined, { signal: ctx.signal });
}

/** Where this run starts: the checkpoint, if its part file still holds what the checkpoint promised. */
function resumePoint(checkpoint: CsvCheckpoint | undefined, part: string, afterHeader: number): CsvCheckpoint {
  const start = { row: 0, inputOffset: afterHeader, outputBytes: 0 };
  if (!checkpoint) return start;
  const size = fs.existsSync(part) ? fs.statSync(part).size : -1;
  return size >= checkpoint.outputBytes ? checkpoint : start;
}

function openForAppend(file: string): string {
  fs.closeSync(fs.openSync(file, 'a'));
  return file;
}

function outputName(idempotencyKey: string): string {
  const readable = encodeURIComponent(idempotencyKey);
  // File names are limited to 255 bytes: a long key is hashed.
  const base = readable.length <= 200 ? readable : createHash('sha256').update(idempotencyKey).digest('hex');
  return `${base}.jsonl`;
}

async function readHeader(file: string): Promise<{ columns: string[]; endOffset: number }> {
  for await (const line of linesFrom(file, 0)) {
    const columns = parseCsvLine(line.text);
    if (line.text === '' || columns.some((c) => c === '')) break;
    return { columns, endOffset: line.endOffset };
  }
  throw new PermanentProcessorError('the CSV file has no header row (named columns on the first line)');
}

/** Lines of a file from a byte offset, each with the offset just after it (CRLF or LF). */
async function* linesFrom(
  file: string,
  start: number,
  signal?: AbortSignal,
): AsyncGenerator<{ text: string; endOffset: number }> {
  let offset = start;
  let rest = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { start, signal })) {
    let buffer = Buffer.concat([rest, chunk as Buffer]);
    let newline: number;
    while ((newline = buffer.indexOf(NEWLINE)) !== -1) {
      offset += newline + 1;
      yield { text: buffer.subarray(0, newline).toString('utf8').replace(/\r$/, ''), endOffset: offset };
      buffer = buffer.subarray(newline + 1);
    }
    rest = buffer;
  }
  if (rest.length > 0) yield { text: rest.toString('utf8').replace(/\r$/, ''), endOffset: offset + rest.length };
}

/** One CSV line (RFC 4180 quoting, without line breaks inside quoted fields). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function csvOptions(options: Readonly<Record<string, unknown>>): Required<CsvOptions> {
  const { outDir, checkpointEvery = 10_000, delayPer1kRowsMs = 0 } = options;
  if (typeof outDir !== 'string' || outDir === '') {
    throw new PermanentProcessorError('csv-to-jsonl: options.outDir must name the output folder');
  }
  for (const [key, value] of Object.entries({ checkpointEvery, delayPer1kRowsMs })) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (key === 'checkpointEvery' ? 1 : 0)) {
      throw new PermanentProcessorError(`csv-to-jsonl: options.${key} must be a whole number`);
    }
  }
  return {
    outDir: path.resolve(outDir),
    checkpointEvery: checkpointEvery as number,
    delayPer1kRowsMs: delayPer1kRowsMs as number,
  };
}
