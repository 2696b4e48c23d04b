import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * The patches that patch level 1 (src/shared/patch-level.ts) applies without a marker: every patch of the file
 * workflow, and those of the poll workflow that come after its first listing (the plan comes with the listing).
 * A patch added later is not in it: it records its marker (`patched`) until a new level covers it.
 */
const LEVEL_1 = new Set([
  'cheap-file-steps',
  'small-file-fast-path',
  'one-marker-fast-path',
  'release-superseded',
  'rejected-fails',
  'publish-before-commit',
  'workflow-processor',
  'parallel-child-starts',
  'bounded-child-starts',
  'claim-again-at-cap',
  'room-wait-deadline-from-now',
  'wait-for-in-flight-room',
]);

/**
 * Whether a patched change applies to this run: `patched(patchId)` without its marker for runs whose plan has a
 * patch level that covers it. While replaying, the patch is still asked for, so that a marker recorded for this
 * run by a worker of an earlier release (which decides by markers) is matched: the SDK fails a replay on a
 * marker that nothing asks for, and asking records nothing when there is none. Call it where `patched` was
 * called, in the same order: a replay matches markers in order.
 */
export function applies(patchLevel: number | undefined, patchId: string): boolean {
  if (patchLevel === undefined || patchLevel < 1 || !LEVEL_1.has(patchId)) return patched(patchId);
  if (workflowInfo().unsafe.isReplaying) patched(patchId);
  return true;
}
