// The bare-Temporal ceiling of the product's shape (bench/ingest.bench.ts): a poll workflow whose one activity
// returns claims, then one child per claim with the product's steps as no-op activities and the same stage
// upserts: download and process as activities, publish and commit as local activities (the product's shape on a
// shared workDir since the cheap-file-steps change). With `fast`, the children mirror the small-file fast path:
// one local activity for download, process and publish, then the local commit. No FTP, no ledger logic, no files.
import {
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { FTP_PATH, FTP_SOURCE, FTP_STAGE } from '../../src/shared/search-attributes';
import type { BareActivities } from './activities';

const long = proxyActivities<BareActivities>({ startToCloseTimeout: '1m', heartbeatTimeout: '10s' });
const short = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '10s' });
const poll = proxyActivities<BareActivities>({ startToCloseTimeout: '1m' });

export interface BarePollInput {
  runTag: string;
  files: number;
  perPoll: number;
  /** Children of the small-file fast path's shape (bareFastFileWorkflow). */
  fast?: boolean;
}

/** Claims `perPoll` names per listing until `files` are claimed, starting a child per name (as the product). */
export async function barePollWorkflow({ runTag, files, perPoll, fast }: BarePollInput): Promise<number> {
  let claimed = 0;
  for (let round = 1; claimed < files; round++) {
    const names = await poll.claim({ runTag, from: claimed, count: Math.min(perPoll, files - claimed) });
    await Promise.all(
      names.map((name) =>
        startChild(fast ? bareFastFileWorkflow : bareFileWorkflow, {
          workflowId: `bare/${runTag}/${name}`,
          args: [{ runTag, name }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [
            { key: FTP_SOURCE, value: runTag },
            { key: FTP_PATH, value: name },
            { key: FTP_STAGE, value: 'download' },
          ],
        }),
      ),
    );
    claimed += names.length;
    if (workflowInfo().historyLength > 4_000) break;
  }
  return claimed;
}

export async function bareFileWorkflow(input: { runTag: string; name: string }): Promise<string> {
  await long.download(input);
  upsertSearchAttributes([{ key: FTP_STAGE, value: 'process' }]);
  await long.process(input);
  upsertSearchAttributes([{ key: FTP_STAGE, value: 'commit' }]);
  await short.publish(input);
  await short.commit(input);
  upsertSearchAttributes([{ key: FTP_STAGE, value: 'done' }]);
  return 'done';
}

/** The fast path's shape: one local activity for the three steps, the local commit, the final stage. */
export async function bareFastFileWorkflow(input: { runTag: string; name: string }): Promise<string> {
  await short.downloadProcessPublish(input);
  await short.commit(input);
  upsertSearchAttributes([{ key: FTP_STAGE, value: 'done' }]);
  return 'done';
}
