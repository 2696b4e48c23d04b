import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../starter/errors';

/** Marks a directory as the demo's own: only such a directory is emptied at the start of a run. */
export const DEMO_MARKER = '.ftp-ingest-demo';

/** What the demo writes into its data dir (runs before the marker existed left only these). */
const DEMO_ENTRIES = new Set([
  'config.json',
  'workflow-bundle.js',
  'temporal',
  'redis',
  'ftp-root',
  'work',
  'processed',
]);
const WORKER_LOG = /^worker-\d+\.log$/;

/**
 * Makes `dir` an empty data dir for a new run. The demo empties its data dir, so it refuses one that holds
 * anything it did not make: `--data-dir .` must never delete a user's files.
 */
export function prepareDataDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw usageError(`--data-dir ${dir} is not a directory`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes(DEMO_MARKER) && !isEarlierDemoRun(entries)) {
    throw usageError(
      `--data-dir ${dir} is not empty and was not made by the demo (no ${DEMO_MARKER} in it); the demo empties its ` +
        `data dir at start:\ngive a new or empty directory with --data-dir`,
    );
  }
  // Emptied rather than removed: the directory may be the current one.
  for (const entry of entries) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  fs.writeFileSync(path.join(dir, DEMO_MARKER), 'made by `ftp-ingest demo`: emptied at the start of each run\n');
}

/** A data dir left by a demo from before the marker: its config and bundle, and nothing the demo did not write. */
function isEarlierDemoRun(entries: string[]): boolean {
  return (
    entries.includes('config.json') &&
    entries.includes('workflow-bundle.js') &&
    entries.every((entry) => DEMO_ENTRIES.has(entry) || WORKER_LOG.test(entry))
  );
}
