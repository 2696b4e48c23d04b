// What a workflow's history holds, by kind of event: how many activity tasks, local activity markers and
// workflow tasks a run cost.
import type { Client } from '@temporalio/client';

export interface HistoryShape {
  /** Activity types scheduled as (regular) activities. */
  activities: string[];
  /** Activity types run as local activities (their markers). */
  localActivities: string[];
  workflowTasks: number;
  /** Workflow tasks that timed out (their worker died or hung). */
  workflowTaskTimeouts: number;
  /** Patch markers (`patched` calls that recorded one). */
  patchMarkers: number;
  events: number;
}

export async function historyShape(client: Client, workflowId: string): Promise<HistoryShape> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const shape: HistoryShape = {
    activities: [],
    localActivities: [],
    workflowTasks: 0,
    workflowTaskTimeouts: 0,
    patchMarkers: 0,
    events: events.length,
  };
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) shape.activities.push(scheduled);
    if (event.workflowTaskCompletedEventAttributes) shape.workflowTasks++;
    if (event.workflowTaskTimedOutEventAttributes) shape.workflowTaskTimeouts++;
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') shape.localActivities.push(localActivityType(marker.details));
    if (marker?.markerName === 'core_patch') shape.patchMarkers++;
  }
  return shape;
}

/** The activity type in a local activity marker's `data` payload (JSON). */
function localActivityType(
  details: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null | undefined,
): string {
  const data = details?.data?.payloads?.[0]?.data;
  if (!data) return '?';
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; activityType?: string };
  return parsed.activity_type ?? parsed.activityType ?? '?';
}
