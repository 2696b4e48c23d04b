import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Processor } from './types';

export interface ChecksumResult {
  sha256: string;
  bytes: number;
  lines: number;
}

const NEWLINE = 0x0a;

/** sha-256, byte count and line count of the file, streamed (constant memory). */
export const checksum: Processor<ChecksumResult> = async (ctx) => {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  let lastByte = NEWLINE;
  for await (const chunk of createReadStream(ctx.localPath, { signal: ctx.signal })) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
    for (let i = buffer.indexOf(NEWLINE); i !== -1; i = buffer.indexOf(NEWLINE, i + 1)) lines++;
    if (buffer.length > 0) lastByte = buffer[buffer.length - 1]!;
    ctx.heartbeat({ done: bytes, total: ctx.file.size, unit: 'bytes' });
  }
  if (lastByte !== NEWLINE) lines++; // a last line without a trailing newline still counts
  return { sha256: hash.digest('hex'), bytes, lines };
};
