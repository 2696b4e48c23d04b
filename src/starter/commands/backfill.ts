import { InvalidArgumentError, Option, type Command } from 'commander';
import { STATUSES } from '../../ledger';
import { backfillAction, type BackfillResult, type SelectStatus } from '../actions/backfill';
import { configFrom, type GlobalOptions } from '../context';
import { usageError } from '../errors';
import { formatBytes, formatTime, note, printable, printJson, printLines, table } from '../output';
import { collect, integer, status, time } from '../parse';

interface BackfillCommandOptions {
  source: string;
  path?: string[];
  dir?: string;
  since?: number;
  until?: number;
  status?: SelectStatus[];
  reprocess?: boolean;
  dryRun?: boolean;
  limit?: number;
  wait: number;
  json?: boolean;
}

function selectStatuses(value: string, previous: SelectStatus[] | undefined): SelectStatus[] {
  const parsed = value
    .split(',')
    .filter((part) => part.trim() !== '')
    .map((part): SelectStatus => {
      if (part.trim().toUpperCase() === 'NEW') return 'NEW';
      try {
        return status(part);
      } catch {
        throw new InvalidArgumentError(
          `expected NEW or one of ${STATUSES.join(', ')} (any case), got ${JSON.stringify(part)}`,
        );
      }
    });
  return [...(previous ?? []), ...parsed];
}

function printResult(r: BackfillResult): void {
  const rows = r.files.map((f) => [
    f.decision,
    printable(f.path),
    formatTime(f.mtime ? Date.parse(f.mtime) : undefined),
    formatBytes(f.size),
    f.reason ?? '',
  ]);
  if (rows.length > 0) printLines(table(['DECISION', 'PATH', 'MODIFIED', 'SIZE', 'REASON'], rows));
  for (const f of r.failures) printLines([`FAILED ${printable(f.path)}: ${f.error}`]);
  const counts = Object.entries(r.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  printLines([
    r.dryRun
      ? `dry run ${r.source}: listed ${r.listed}, selected ${r.selected}: ${counts || 'nothing'}; would claim ${r.claimed} in the first round${r.counts.later ? `, ${r.counts.later} in later rounds` : ''}. Nothing was changed.`
      : `backfill ${r.source} (${r.run}): listed ${r.listed}, selected ${r.selected}: ${counts || 'nothing'}; claimed ${r.claimed}, started ${r.started} in ${r.rounds} round${r.rounds === 1 ? '' : 's'}${r.failures.length > 0 ? `, ${r.failures.length} failed` : ''}`,
  ]);
}

export function registerBackfillCommand(program: Command): void {
  program
    .command('backfill')
    .description(
      'list a source now and claim the selected files through the ledger, as a poll would (new attempts, recorded as backfill:<id>); paced by maxAcceptPerPoll and maxInFlight',
    )
    .requiredOption('-s, --source <id>', 'source id')
    .addOption(
      new Option('-p, --path <glob>', 'only paths matching (repeatable; without "/" matches the base name)').argParser(
        collect,
      ),
    )
    .option('--dir <dir>', 'only files under this directory (relative to the source dir)')
    .addOption(
      new Option(
        '--since <time>',
        'only files modified at or after (2024-01-02, 2024-01-02T06:00Z, or 36h for 36 hours ago)',
      ).argParser(time),
    )
    .addOption(new Option('--until <time>', 'only files modified before').argParser(time))
    .addOption(
      new Option(
        '--status <status>',
        `only files with this ledger status: NEW (no record), ${STATUSES.join(', ')}; repeatable, any case`,
      ).argParser(selectStatuses),
    )
    .option('--reprocess', 'run DONE and REJECTED files of the listed version again')
    .option('--dry-run', 'print what would be claimed and why each other file would not be; change nothing')
    .addOption(new Option('-n, --limit <n>', 'claim at most this many files').argParser(integer(1)))
    .addOption(
      new Option('--wait <seconds>', 'how long to wait while the cluster is at maxInFlight')
        .argParser(integer(0))
        .default(600),
    )
    .option(
      '--json',
      'one JSON document: { source, dryRun, run, listed, selected, files, claimed, started, failures, counts }',
    )
    .addHelpText(
      'after',
      `
Examples:
  ftp-ingest backfill -s orders --dir 2024-01-02 --dry-run
  ftp-ingest backfill -s orders --since 2024-01-02 --until 2024-01-03 --reprocess
  ftp-ingest backfill -s orders --path '*.csv' --status new --limit 500`,
    )
    .action(async (options: BackfillCommandOptions) => {
      if (options.since !== undefined && options.until !== undefined && options.since >= options.until)
        throw usageError('backfill: --since must be before --until (the window is [since, until))');
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await backfillAction(config, options.source, {
        globs: options.path ?? [],
        dir: options.dir,
        since: options.since,
        until: options.until,
        statuses: options.status ?? [],
        reprocess: options.reprocess === true,
        dryRun: options.dryRun === true,
        limit: options.limit,
        waitMs: options.wait * 1000,
        progress: options.json ? undefined : note,
      });
      if (options.json) printJson(data);
      else printResult(data);
      process.exitCode = exitCode;
    });
}
