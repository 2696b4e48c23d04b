import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { AppConfig, SourceConfig } from '../config';
import { pollScheduleId } from '../shared/ids';
import { pollInputOf } from '../shared/patch-level';
import { FTP_KIND, FTP_SOURCE } from '../shared/search-attributes';
import type { pollWorkflow } from '../workflows';
import { ensureSearchAttributes } from './search-attributes';

/** Creates the source's poll schedule, or updates it to the current config (interval, task queue). */
export async function upsertPollSchedule(
  client: Client,
  config: AppConfig,
  source: SourceConfig,
): Promise<'created' | 'updated'> {
  await ensureSearchAttributes(client, config.temporal.namespace);
  const scheduleId = pollScheduleId(source.id);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'pollWorkflow' as const,
    args: [pollInputOf(source.id)] as Parameters<typeof pollWorkflow>,
    taskQueue: config.temporal.taskQueue,
    workflowId: scheduleId, // Temporal appends each run's time: ftp-poll/<source>-2024-01-02T03:04:05Z
    typedSearchAttributes: [
      { key: FTP_KIND, value: 'poll' },
      { key: FTP_SOURCE, value: source.id },
    ],
  };
  // No offset and no jitter: a poll waiting for room stops before the next multiple of the interval (poll.ts).
  const spec = { intervals: [{ every: source.pollIntervalMs }] };
  // A poll still running when the next one is due is not doubled: polls of one source never overlap.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: source.pollIntervalMs * 2 };
  try {
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({ scheduleId, spec, action, policies, memo: { sourceId: source.id } });
  return 'created';
}

export async function describePollSchedule(client: Client, sourceId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(pollScheduleId(sourceId)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Whether a source's polls come by themselves: its schedule active, paused or absent, and a poll still running. */
export interface PollScheduleState {
  state: 'active' | 'paused' | 'none';
  /** A poll of the schedule that still runs: the schedule skips every next one until it ends (overlap SKIP). */
  runningPoll?: string;
  /** When the schedule was created (Temporal's clock, ms). */
  createdAtMs?: number;
}

export async function pollScheduleState(client: Client, sourceId: string): Promise<PollScheduleState> {
  const description = await describePollSchedule(client, sourceId);
  if (!description) return { state: 'none' };
  const running = description.info.runningActions[0]?.workflow.workflowId;
  return {
    state: description.state.paused ? 'paused' : 'active',
    ...(running ? { runningPoll: running } : {}),
    createdAtMs: description.info.createdAt.getTime(),
  };
}

export async function deletePollSchedule(client: Client, sourceId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(pollScheduleId(sourceId)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/** Runs one poll now through the schedule (respecting its overlap policy). */
export async function triggerPollSchedule(client: Client, sourceId: string): Promise<void> {
  await client.schedule.getHandle(pollScheduleId(sourceId)).trigger(ScheduleOverlapPolicy.SKIP);
}
