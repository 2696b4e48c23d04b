import { Option, type Command } from 'commander';
import { deadLettersAction, operatorAction, type BatchResult } from '../actions/operator';
import { configFrom, type GlobalOptions } from '../context';
import { usageError } from '../errors';
import { formatTime, isoTime, printable, printJson, printLines, table } from '../output';
import { collect, integer } from '../parse';

interface BatchOptions {
  allRejected?: boolean;
  json?: boolean;
}

function printBatch(data: BatchResult, json: boolean | undefined): void {
  if (json) return printJson(data);
  const verb = data.action === 'retry' ? 'retried' : 'reprocessed';
  if (data.results.length === 0) return printLines([`${data.action} ${data.source}: no REJECTED file, nothing to do`]);
  const rows = data.results.map((r) => [
    r.ok ? verb : 'FAILED',
    printable(r.path),
    r.ok ? `now ${r.status ?? '?'}, due now` : (r.reason ?? ''),
  ]);
  printLines(table(['RESULT', 'PATH', 'DETAIL'], rows));
  printLines([`${data.action} ${data.source}: ${data.ok} ${verb}, ${data.failed} failed`]);
}

/** `retry` and `reprocess`: the same arguments, the same batch action, the same report. */
function registerBatchCommand(
  program: Command,
  action: 'retry' | 'reprocess',
  help: { description: string; paths: string; allRejected: string },
): void {
  program
    .command(action)
    .description(help.description)
    .argument('<source>', 'source id')
    .argument('[paths...]', help.paths)
    .option('--all-rejected', help.allRejected)
    .option('--json', 'one JSON document: { source, action, results, ok, failed }')
    .action(async (sourceId: string, paths: string[], options: BatchOptions) => {
      if (paths.length === 0 && !options.allRejected)
        throw usageError(`${action}: name paths or globs, or pass --all-rejected`);
      // retry's --all-rejected already takes every file a path could name: both at once is a slip, not a wider choice.
      if (action === 'retry' && paths.length > 0 && options.allRejected)
        throw usageError('retry: name paths or globs, or pass --all-rejected, not both');
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await operatorAction(config, action, sourceId, paths, options.allRejected === true);
      printBatch(data, options.json);
      process.exitCode = exitCode;
    });
}

/** Operator actions on files: retry REJECTED files, run DONE versions again, read the dead letters. */
export function registerOperatorCommands(program: Command): void {
  registerBatchCommand(program, 'retry', {
    description: 'give REJECTED files new tries (the next poll claims them); one line per file and a summary',
    paths: 'paths or globs relative to the source dir, as `files` shows them (quote globs)',
    allRejected: 'every REJECTED file of the source',
  });
  registerBatchCommand(program, 'reprocess', {
    description:
      'run DONE (or REJECTED) files again, same version, at the next poll while still on the server; see also `backfill --reprocess`',
    paths: 'paths or globs relative to the source dir (quote globs)',
    allRejected: 'also every REJECTED file of the source',
  });
  program
    .command('dead-letters')
    .description('the REJECTED transitions of a source, newest first')
    .argument('<source>', 'source id')
    .addOption(new Option('-n, --limit <n>', 'entries').argParser(integer(1)).default(100))
    .addOption(new Option('-p, --path <glob>', 'only paths matching (repeatable)').argParser(collect))
    .option('--json', 'one JSON document: { source, entries }')
    .action(async (sourceId: string, options: { limit: number; path?: string[]; json?: boolean }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await deadLettersAction(config, sourceId, options.limit, options.path);
      if (options.json) printJson({ ...data, entries: data.entries.map((e) => ({ ...e, at: isoTime(e.at) })) });
      else if (data.entries.length === 0) printLines([`no dead letters in source ${data.source}`]);
      else {
        const rows = data.entries.map((e) => [
          formatTime(e.at),
          printable(e.path),
          e.version,
          String(e.tries),
          e.owner,
          e.workflowId,
          printable(e.error),
        ]);
        printLines(table(['AT', 'PATH', 'VERSION', 'TRIES', 'OWNER', 'WORKFLOW', 'ERROR'], rows));
      }
      process.exitCode = exitCode;
    });
}
