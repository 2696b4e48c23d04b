import { Option, type Command } from 'commander';
import type { Status } from '../../ledger';
import { moreHint, statusAction } from '../actions/files';
import { configFrom, type GlobalOptions } from '../context';
import { printJson, printLines } from '../output';
import { integer } from '../parse';
import { filesQueryOf, statusOption } from './files';
import { countsLine, failingWorkflowLines, healthLine, lateLine, recordJson, recordTable } from '../views';

interface StatusOptions {
  source?: string;
  json?: boolean;
  status?: Status[];
  limit: number;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('ledger counts by status per source, and the first file rows (see `files` for paging and globs)')
    .option('-s, --source <id>', 'only this source')
    .addOption(statusOption('only files of these statuses'))
    .addOption(new Option('-n, --limit <n>', 'file rows per source').argParser(integer(0)).default(50))
    .option('--json', 'one JSON object per source: { source, counts, health, late, total, files, more }')
    .action(async (options: StatusOptions) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await statusAction(config, options.source, filesQueryOf(options));
      for (const source of data) {
        if (options.json) {
          printJson({ ...source, files: source.files.map(recordJson) });
          continue;
        }
        const lines = [countsLine(source.source, source.counts), `  ${healthLine(source.health)}`];
        const warnings = [...lateLine(source.source, source.late), ...failingWorkflowLines(source.health)];
        lines.push(...warnings.map((line) => `  ${line}`));
        if (source.files.length > 0) lines.push(...recordTable(source.files).map((line) => `  ${line}`));
        const hint = moreHint(source);
        if (hint) lines.push(`  ${hint.replace('--offset', '`files -s ' + source.source + '` --offset')}`);
        printLines(lines);
      }
      process.exitCode = exitCode;
    });
}
