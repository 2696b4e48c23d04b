import { Option, type Command } from 'commander';
import { pollAction } from '../actions/poll';
import { configFrom, type GlobalOptions } from '../context';
import { printJson, printLines } from '../output';
import { integer } from '../parse';
import type { PollSummary } from '../../shared/types';

const counts = (record: Record<string, number>): string => {
  const parts = Object.entries(record).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
};
const total = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);

function summaryLine(s: PollSummary): string {
  return (
    `poll ${s.sourceId}: listed ${s.listed}, filtered out ${total(s.filteredOut)}${counts(s.filteredOut)}, ` +
    `skipped ${total(s.skipped)}${counts(s.skipped)}, rejected ${s.rejected}, claimed ${s.claimed}, started ${s.started}` +
    (s.alreadyStarted > 0 ? `, already started ${s.alreadyStarted}` : '') +
    (s.startPending ? `, not started yet ${s.startPending} (a later poll takes them over)` : '')
  );
}

export function registerPollCommand(program: Command): void {
  program
    .command('poll')
    .description('poll now (a pollWorkflow outside the schedule): checks the FTP server, then prints each summary')
    .option('-s, --source <id>', 'only this source')
    .addOption(
      new Option(
        '--wait <seconds>',
        'stop waiting then: a poll no worker took is stopped (exit 3), one a worker runs goes on (a backlog in rounds)',
      )
        .argParser(integer(1))
        .default(60),
    )
    .option('--json', 'one JSON summary line per source')
    .action(async (options: { source?: string; wait: number; json?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await pollAction(config, options.source, { waitMs: options.wait * 1000 });
      for (const outcome of data) {
        if (options.json)
          printJson(outcome.summary ?? { sourceId: outcome.source, running: outcome.running, error: outcome.error });
        else if (outcome.summary) printLines([summaryLine(outcome.summary)]);
        else if (outcome.running)
          printLines([
            `poll ${outcome.source}: still running after ${options.wait}s (its rounds claim a backlog, or it waits for room under maxInFlight); it goes on as workflow ${outcome.running}`,
          ]);
        else printLines([`poll ${outcome.source}: FAILED ${outcome.error ?? ''}`]);
      }
      process.exitCode = exitCode;
    });
}
