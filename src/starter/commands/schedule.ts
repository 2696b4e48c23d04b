import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { AppConfig, SourceConfig } from '../../config';
import { configFrom, printJson, selectSources, withClient, type GlobalOptions } from '../context';
import { deletePollSchedule, describePollSchedule, triggerPollSchedule, upsertPollSchedule } from '../schedules';

type PerSource = (client: Client, config: AppConfig, source: SourceConfig) => Promise<object>;

/** Runs `fn` for each selected source and prints one JSON line per source. */
function eachSource(program: Command, fn: PerSource) {
  return async (options: { source?: string }): Promise<void> => {
    const config = configFrom(program.opts<GlobalOptions>());
    await withClient(config, async (client) => {
      for (const source of selectSources(config, options.source)) {
        printJson({ source: source.id, ...(await fn(client, config, source)) });
      }
    });
  };
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('manage the poll schedules (one per source)');
  const sub = (name: string, description: string, fn: PerSource): void => {
    schedule
      .command(name)
      .description(description)
      .option('-s, --source <id>', 'only this source')
      .action(eachSource(program, fn));
  };

  sub('create', 'create or update the poll schedule of each source (overlap SKIP)', async (client, config, source) => ({
    schedule: await upsertPollSchedule(client, config, source),
    everyMs: source.pollIntervalMs,
  }));
  sub('describe', 'show the state of each poll schedule', async (client, _config, source) => {
    const description = await describePollSchedule(client, source.id);
    if (!description) return { exists: false };
    return {
      exists: true,
      paused: description.state.paused,
      recentActions: description.info.recentActions.length,
      nextActionTimes: description.info.nextActionTimes.slice(0, 3),
    };
  });
  sub('delete', 'delete the poll schedules', async (client, _config, source) => ({
    deleted: await deletePollSchedule(client, source.id),
  }));
  sub('trigger', 'run one poll now through each schedule', async (client, _config, source) => {
    await triggerPollSchedule(client, source.id);
    return { triggered: true };
  });
}
