import { ScheduleOverlapPolicy } from '@temporalio/client';
import { Option, type Command } from 'commander';
import {
  listSchedulesAction,
  scheduleAction,
  type ScheduleInfo,
  type ScheduleItem,
  type ScheduleVerb,
} from '../actions/schedule';
import { configFrom, type GlobalOptions } from '../context';
import { usageError } from '../errors';
import { formatSpan, formatTime, printJson, printLines, table } from '../output';
import { time } from '../parse';

interface TargetOptions {
  source?: string;
  id?: string;
  json?: boolean;
  note?: string;
  start?: number;
  end?: number;
  overlap?: string;
}

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

/** A backfill from a later time to an earlier one would run nothing, and Temporal says nothing about it. */
function assertTimeRange({ start, end }: TargetOptions): void {
  if (start !== undefined && end !== undefined && start > end) {
    throw usageError(`--start (${formatTime(start)}) is after --end (${formatTime(end)}): nothing to backfill`);
  }
}

const when = (iso: string | undefined): string => (iso ? formatTime(Date.parse(iso)) : '-');

function scheduleRows(list: ScheduleInfo[]): string[] {
  return table(
    ['SCHEDULE', 'SOURCE', 'CONFIGURED', 'STATE', 'EVERY', 'NEXT RUN', 'LAST RUN', 'NOTE'],
    list.map((s) => [
      s.id,
      s.sourceId,
      s.configured ? 'yes' : 'NO (orphan)',
      s.paused ? 'paused' : 'active',
      s.everyMs === undefined ? '-' : formatSpan(s.everyMs),
      // Temporal keeps computing a paused schedule's next times; none of them runs until it is unpaused.
      s.paused ? '- (paused)' : when(s.nextRuns[0]),
      when(s.recentRuns[s.recentRuns.length - 1]?.scheduledAt),
      s.note ?? '',
    ]),
  );
}

function printItems(items: ScheduleItem[], json: boolean | undefined): void {
  if (json) return printJson(items);
  printLines(
    table(
      ['SCHEDULE', 'RESULT', 'DETAIL'],
      items.map((i) => [i.id, i.ok ? (i.result ?? 'ok') : 'FAILED', i.ok ? '' : (i.reason ?? '')]),
    ),
  );
  const described = items.flatMap((i) => (i.schedule ? [i.schedule] : []));
  if (described.length > 0) {
    printLines(['', ...scheduleRows(described)]);
    for (const s of described) {
      if (s.recentRuns.length > 0)
        printLines([
          `recent runs of ${s.id}:`,
          ...s.recentRuns.map((r) => `  ${when(r.scheduledAt)}  ${r.workflowId}`),
        ]);
    }
  }
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      'manage the poll schedules (one per source, id ftp-poll/<source>); --id reaches schedules of sources no longer configured',
    );

  schedule
    .command('list')
    .description('every ftp-poll/* schedule in the namespace, including orphans (sources no longer configured)')
    .option('--json', 'a JSON list')
    .action(async (options: { json?: boolean }) => {
      const { data, exitCode } = await listSchedulesAction(configFrom(program.opts<GlobalOptions>()));
      if (options.json) printJson(data);
      else printLines(data.length > 0 ? scheduleRows(data) : ['no ftp-poll/* schedules']);
      process.exitCode = exitCode;
    });

  const verbs: [ScheduleVerb, string][] = [
    ['create', 'create the poll schedule of each source, or update it to the config (overlap SKIP)'],
    ['update', 'update existing poll schedules to the current config (interval, task queue)'],
    ['describe', 'state, interval, next and recent runs of each poll schedule'],
    ['pause', 'pause poll schedules (files in flight go on; nothing new is claimed)'],
    ['unpause', 'resume paused poll schedules'],
    ['trigger', 'run one poll now through each schedule'],
    ['delete', 'delete poll schedules (a removed source: schedule delete --id ftp-poll/<source>)'],
    ['backfill', "Temporal's schedule backfill: run the poll times between --start and --end (missed polls)"],
  ];
  for (const [verb, description] of verbs) {
    const cmd = schedule
      .command(verb)
      .description(description)
      .option('-s, --source <id>', 'only this configured source (default: every configured source)');
    if (verb !== 'create' && verb !== 'update')
      cmd.option('--id <scheduleId>', 'a schedule id (ftp-poll/<source>, or the source id), configured or not');
    if (verb === 'pause' || verb === 'unpause') cmd.option('--note <text>', 'why (shown by describe and list)');
    if (verb === 'backfill') {
      cmd
        .addOption(
          new Option('--start <time>', 'first poll time (2024-01-02T00:00Z, 2024-01-02, 36h ago as 36h)')
            .argParser(time)
            .makeOptionMandatory(),
        )
        .addOption(new Option('--end <time>', 'last poll time').argParser(time).makeOptionMandatory())
        .addOption(
          new Option('--overlap <policy>', 'overlap of the backfilled polls')
            .choices(Object.keys(OVERLAP))
            .default('buffer-all'),
        );
    }
    cmd.option('--json', 'a JSON list of results').action(async (options: TargetOptions) => {
      assertTimeRange(options);
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await scheduleAction(
        config,
        verb,
        { source: options.source, id: options.id },
        {
          note: options.note,
          start: options.start,
          end: options.end,
          overlap: options.overlap === undefined ? undefined : OVERLAP[options.overlap],
        },
      );
      printItems(data, options.json);
      process.exitCode = exitCode;
    });
  }
}
