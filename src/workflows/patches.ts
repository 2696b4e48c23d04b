import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * The patch level (src/shared/patch-level.ts) from which each patch applies without a marker. Level 1: every patch
 * of the file and poll workflows up to it. A patch added later is not here: it records its marker (`patched`) until
 * a new level covers it.
 */
const LEVEL_OF: Readonly<Record<string, number>> = {
  'poll-task-queue': 1,
  'cheap-file-steps': 1,
  'small-file-fast-path': 1,
  'one-marker-fast-path': 1,
  'release-superseded': 1,
  'rejected-fails': 1,
  'publish-before-commit': 1,
  'workflow-processor': 1,
  'parallel-child-starts': 1,
  'bounded-child-starts': 1,
  'claim-again-at-cap': 1,
  'room-wait-deadline-from-now': 1,
  'wait-for-in-flight-room': 1,
};

/**
 * Whether a patched change applies to this run: `patched(patchId)` without its marker for runs whose plan has a
 * patch level that covers it. While replaying, the patch is still asked for, so that a marker recorded for this
 * run by a worker of an earlier release (which decides by markers) is matched: the SDK fails a replay on a
 * marker that nothing asks for, and asking records nothing when there is none. Call it where `patched` was
 * called, in the same order: a replay matches markers in order.
 */
export function applies(patchLevel: number | undefined, patchId: string): boolean {
  const from = LEVEL_OF[patchId];
  if (patchLevel === undefined || from === undefined || patchLevel < from) return patched(patchId);
  if (workflowInfo().unsafe.isReplaying) patched(patchId);
  return true;
}
