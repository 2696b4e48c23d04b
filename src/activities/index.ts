import type { ActivityDeps } from './deps';
import { commitFile } from './commit';
import { downloadFile } from './download';
import { downloadProcessPublish } from './fast-path';
import { listAndClaim } from './list-and-claim';
import { moveFile } from './move';
import { processFile } from './process';
import { publishFile } from './publish';
import { finishRemoteAction } from './remote-action';
import { releaseFile } from './release';

/** The activities of one worker process, bound to its shared dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    listAndClaim: listAndClaim.bind(null, deps),
    downloadFile: downloadFile.bind(null, deps),
    processFile: processFile.bind(null, deps),
    publishFile: publishFile.bind(null, deps),
    commitFile: commitFile.bind(null, deps),
    finishRemoteAction: finishRemoteAction.bind(null, deps),
    downloadProcessPublish: downloadProcessPublish.bind(null, deps),
    moveFile: moveFile.bind(null, deps),
    releaseFile: releaseFile.bind(null, deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type PollActivities = Pick<Activities, 'listAndClaim'>;
export type FileActivities = Omit<Activities, 'listAndClaim'>;
export type { ActivityDeps } from './deps';
