// One download in its own process, so that its peak RSS is its own: `node --import tsx bench/download-child.ts
// <raw|product> <json>`. raw: basic-ftp's Client.downloadTo. product: the product's download path
// (src/ftp/download: part file, REST resume offset, size check, progress callback, rename into place).
// Prints one JSON line: { seconds, bytes, maxRssMiB }.
import fs from 'node:fs';
import { Client } from 'basic-ftp';
import { downloadToFile, finalizeDownload } from '../src/ftp/download';

interface Args {
  host: string;
  port: number;
  user: string;
  password: string;
  remotePath: string;
  localPath: string;
  size: number;
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}') as Args;
  const client = new Client(60_000);
  await client.access({ host: args.host, port: args.port, user: args.user, password: args.password });
  const started = performance.now();
  let progressCalls = 0;
  if (mode === 'raw') {
    await client.downloadTo(args.localPath, args.remotePath);
  } else {
    const part = `${args.localPath}.part`;
    await downloadToFile(client, args.remotePath, part, {
      expectedSize: args.size,
      onProgress: () => progressCalls++,
    });
    await finalizeDownload(part, args.localPath);
  }
  const seconds = (performance.now() - started) / 1000;
  client.close();
  const bytes = fs.statSync(args.localPath).size;
  fs.rmSync(args.localPath, { force: true });
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, bytes, maxRssMiB, progressCalls }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
