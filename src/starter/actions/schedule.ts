// The poll schedules (`ftp-poll/<sourceId>`), including those of sources no longer configured (orphans).
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { AppConfig, SourceConfig } from '../../config';
import { pollScheduleId } from '../../shared/ids';
import { selectSources, sourceFrom, withClient } from '../context';
import { EXIT, shortReason, usageError } from '../errors';
import { upsertPollSchedule } from '../schedules';
import type { ActionResult } from './files';

const PREFIX = 'ftp-poll/';

export type ScheduleVerb = 'create' | 'update' | 'describe' | 'pause' | 'unpause' | 'trigger' | 'delete' | 'backfill';

export interface ScheduleTargets {
  /** A configured source. */
  source?: string;
  /** A schedule id (`ftp-poll/<sourceId>` or just the source id), configured or not. */
  id?: string;
}

export interface ScheduleInfo {
  id: string;
  sourceId: string;
  /** Whether the config names the source (false: an orphan, its polls fail). */
  configured: boolean;
  paused: boolean;
  note?: string;
  everyMs?: number;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; workflowId: string }[];
  running?: number;
}

export interface ScheduleItem {
  id: string;
  sourceId: string;
  ok: boolean;
  /** What happened: created, updated, paused, … */
  result?: string;
  reason?: string;
  schedule?: ScheduleInfo;
}

export interface ScheduleOptions {
  note?: string;
  start?: number;
  end?: number;
  overlap?: ScheduleOverlapPolicy;
}

interface Target {
  id: string;
  sourceId: string;
  source?: SourceConfig;
}

function targetsOf(config: AppConfig, targets: ScheduleTargets): Target[] {
  if (targets.id !== undefined) {
    const id = targets.id.startsWith(PREFIX) ? targets.id : pollScheduleId(targets.id);
    const sourceId = id.slice(PREFIX.length);
    return [{ id, sourceId, source: config.sources.find((s) => s.id === sourceId) }];
  }
  return selectSources(config, targets.source).map((source) => ({
    id: pollScheduleId(source.id),
    sourceId: source.id,
    source,
  }));
}

function info(config: AppConfig, target: Target, d: ScheduleDescription): ScheduleInfo {
  return {
    id: target.id,
    sourceId: target.sourceId,
    configured: config.sources.some((s) => s.id === target.sourceId),
    paused: d.state.paused,
    note: d.state.note || undefined,
    everyMs: d.spec.intervals?.[0]?.every,
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions
      .slice(-5)
      .map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    running: d.info.runningActions.length,
  };
}

/** Every `ftp-poll/*` schedule of the namespace, configured or not, sorted by id. */
export async function listSchedulesAction(config: AppConfig): Promise<ActionResult<ScheduleInfo[]>> {
  return withClient(config, async (client) => {
    const out: ScheduleInfo[] = [];
    for await (const summary of client.schedule.list()) {
      if (!summary.scheduleId.startsWith(PREFIX)) continue;
      const sourceId = summary.scheduleId.slice(PREFIX.length);
      out.push({
        id: summary.scheduleId,
        sourceId,
        configured: config.sources.some((s) => s.id === sourceId),
        paused: summary.state.paused,
        note: summary.state.note || undefined,
        everyMs: summary.spec?.intervals?.[0]?.every,
        nextRuns: summary.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
        recentRuns: summary.info.recentActions.slice(-5).map((a) => ({
          scheduledAt: a.scheduledAt.toISOString(),
          workflowId: a.action.workflow.workflowId,
        })),
      });
    }
    return { data: out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), exitCode: EXIT.ok };
  });
}

/** One verb on each target schedule; a missing schedule (or source, for create/update) is a named failure. */
export async function scheduleAction(
  config: AppConfig,
  verb: ScheduleVerb,
  targets: ScheduleTargets,
  options: ScheduleOptions = {},
): Promise<ActionResult<ScheduleItem[]>> {
  if (targets.id !== undefined && targets.source !== undefined)
    throw usageError('schedule: give --source or --id, not both');
  if (targets.source !== undefined) sourceFrom(config, targets.source);
  const list = targetsOf(config, targets);
  return withClient(config, async (client) => {
    const items: ScheduleItem[] = [];
    for (const target of list) items.push(await one(client, config, verb, target, options));
    return { data: items, exitCode: items.some((i) => !i.ok) ? EXIT.failed : EXIT.ok };
  });
}

async function one(
  client: Client,
  config: AppConfig,
  verb: ScheduleVerb,
  target: Target,
  options: ScheduleOptions,
): Promise<ScheduleItem> {
  const base = { id: target.id, sourceId: target.sourceId };
  const handle = client.schedule.getHandle(target.id);
  try {
    switch (verb) {
      case 'create':
      case 'update': {
        if (!target.source) {
          return {
            ...base,
            ok: false,
            reason: `source ${target.sourceId} is not configured: a schedule is made from a source's config (delete the orphan with --id)`,
          };
        }
        if (verb === 'update') await handle.describe(); // a missing schedule is an error for update
        const result = await upsertPollSchedule(client, config, target.source);
        return { ...base, ok: true, result, schedule: info(config, target, await handle.describe()) };
      }
      case 'describe':
        return { ...base, ok: true, result: 'exists', schedule: info(config, target, await handle.describe()) };
      case 'pause':
        await handle.pause(options.note ?? 'paused with ftp-ingest schedule pause');
        return { ...base, ok: true, result: 'paused' };
      case 'unpause':
        await handle.unpause(options.note ?? 'unpaused with ftp-ingest schedule unpause');
        return { ...base, ok: true, result: 'unpaused' };
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
        return { ...base, ok: true, result: 'triggered' };
      case 'delete':
        await handle.delete();
        return { ...base, ok: true, result: 'deleted' };
      case 'backfill':
        if (options.start === undefined || options.end === undefined)
          throw usageError('schedule backfill needs --start and --end');
        await handle.backfill({
          start: new Date(options.start),
          end: new Date(options.end),
          overlap: options.overlap ?? ScheduleOverlapPolicy.BUFFER_ALL,
        });
        return {
          ...base,
          ok: true,
          result: `backfilled ${new Date(options.start).toISOString()} .. ${new Date(options.end).toISOString()}`,
        };
    }
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return { ...base, ok: false, reason: `no schedule ${target.id}` };
    if (err instanceof Error && err.name === 'CliError') throw err;
    // Connection errors are not per-schedule: withClient turns them into exit 3.
    if (/UNAVAILABLE|ECONNREFUSED|Failed to connect|deadline/i.test(shortReason(err))) throw err;
    return { ...base, ok: false, reason: shortReason(err) };
  }
}
