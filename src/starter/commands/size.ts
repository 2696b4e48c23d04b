import type { Command } from 'commander';
import { sizeAction } from '../actions/size';
import { configFrom, type GlobalOptions } from '../context';
import { formatBytes, printJson, printLines, table } from '../output';

export function registerSizeCommand(program: Command): void {
  program
    .command('ledger-size')
    .description("each source's ledger: records, unfinished, finished, stable-size entries, dead letters, bytes")
    .option('-s, --source <id>', 'only this source')
    .option('--json', 'one JSON document: a list of sizes per source')
    .action(async (options: { source?: string; json?: boolean }) => {
      const { data, exitCode } = await sizeAction(configFrom(program.opts<GlobalOptions>()), options.source);
      if (options.json) printJson(data);
      else {
        const headers = ['source', 'records', 'unfinished', 'finished', 'seen', 'dead letters', 'per record'];
        const rows = data.map((s) =>
          [s.source, s.records, s.unfinished, s.finished, s.seen, s.deadLetters]
            .map(String)
            .concat(formatBytes(s.bytesPerRecord)),
        );
        printLines(table(headers, rows));
      }
      process.exitCode = exitCode;
    });
}
