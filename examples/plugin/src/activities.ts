// The two steps of the review workflow. Activities run in the worker process (Node): they read the local copy,
// which the file workflow's host holds; the review workflow runs on that host's task queue, and so do they.
import fs from 'node:fs';
import path from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { PluginActivityContext } from 'ftp-ingest/plugin';

export interface Summary {
  lines: number;
  bytes: number;
  /** The first line, cut to 200 characters: what a reviewer sees in the Web UI (the query `status`). */
  firstLine: string;
}

export interface Delivered {
  /** The delivered file, relative to outDir. */
  name: string;
  /** False when a newer attempt (a higher token) had delivered already: this one changed nothing. */
  written: boolean;
}

export interface DeliverInput {
  localPath: string;
  idempotencyKey: string;
  token: number;
  outDir: string;
}

export function createReviewActivities(ctx: PluginActivityContext) {
  return {
    /** Step 1: what the reviewer decides on. Reads the file; returns a short summary (it goes to history). */
    async summarize({ localPath }: { localPath: string }): Promise<Summary> {
      const file = ctx.localFile(localPath);
      let lines = 0;
      let bytes = 0;
      let firstLine = '';
      for await (const chunk of fs.createReadStream(file)) {
        const buffer = chunk as Buffer;
        if (bytes === 0) firstLine = buffer.toString('utf8').split('\n')[0]!.slice(0, 200);
        bytes += buffer.length;
        for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) lines++;
        heartbeat(bytes);
      }
      return { lines, bytes, firstLine };
    },

    /**
     * Step 2, after the approval: hands the file to a downstream folder. Idempotent (the name comes from the
     * idempotency key; the file appears whole, by rename) and fenced (a `.token` beside it records the highest
     * token that delivered; a lower one, a stale attempt, writes nothing).
     */
    async deliver({ localPath, idempotencyKey, token, outDir }: DeliverInput): Promise<Delivered> {
      const dir = path.resolve(outDir);
      fs.mkdirSync(dir, { recursive: true });
      const name = encodeURIComponent(idempotencyKey);
      const target = path.join(dir, name);
      const tokenFile = `${target}.token`;
      const delivered = fs.existsSync(tokenFile) ? Number(await fs.promises.readFile(tokenFile, 'utf8')) : 0;
      if (delivered > token) return { name, written: false };
      const temp = `${target}.part-${token}`;
      await fs.promises.copyFile(ctx.localFile(localPath), temp);
      await fs.promises.rename(temp, target);
      await fs.promises.writeFile(`${tokenFile}.part-${token}`, String(token));
      await fs.promises.rename(`${tokenFile}.part-${token}`, tokenFile);
      return { name, written: true };
    },
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
