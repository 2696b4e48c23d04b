import { defaultPayloadConverter, type Client } from '@temporalio/client';
import { ledgerRows, type Ledger, type LedgerRecord, type Status } from '../ledger';
import type { Progress } from '../processors';

export interface FileProgress {
  path: string;
  status: Status;
  tries: number;
  /** Activity running now and its heartbeat progress, for IN_PROGRESS files. */
  activity?: string;
  progress?: Progress;
}

/** The ledger's view of every file, plus the live heartbeat progress of the ones in flight. */
export async function readProgress(client: Client, ledger: Ledger, sourceId: string): Promise<FileProgress[]> {
  const records = await ledgerRows(ledger, sourceId, undefined, 10_000);
  return Promise.all(records.map(async (record) => ({ ...base(record), ...(await liveActivity(client, record)) })));
}

function base(record: LedgerRecord): FileProgress {
  return { path: record.path, status: record.status, tries: record.tries };
}

async function liveActivity(client: Client, record: LedgerRecord): Promise<Partial<FileProgress>> {
  if (record.status !== 'IN_PROGRESS' || !record.workflowId) return {};
  try {
    const { raw } = await client.workflow.getHandle(record.workflowId).describe();
    const pending = raw.pendingActivities?.[0];
    if (!pending) return {};
    const payload = pending.heartbeatDetails?.payloads?.[0];
    const details = payload ? defaultPayloadConverter.fromPayload<{ progress?: Progress }>(payload) : undefined;
    return { activity: pending.activityType?.name ?? undefined, progress: details?.progress };
  } catch {
    return {}; // not started yet, or already closed: the ledger row says enough
  }
}

const BAR_WIDTH = 20;

/** One line per file: status, activity and a progress bar. */
export function renderProgress(files: FileProgress[]): string {
  return files
    .map((f) => {
      const ratio =
        f.progress && f.progress.total > 0
          ? Math.min(1, f.progress.done / f.progress.total)
          : f.status === 'DONE'
            ? 1
            : 0;
      const filled = Math.round(ratio * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
      const what = f.activity
        ? `${f.activity} ${f.progress ? `${f.progress.done}/${f.progress.total} ${f.progress.unit}` : ''}`
        : '';
      return `${f.status.padEnd(11)} ${bar} ${f.path.padEnd(24)} try ${f.tries} ${what}`;
    })
    .join('\n');
}
