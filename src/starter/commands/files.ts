import { Option, type Command } from 'commander';
import { STATUSES } from '../../ledger';
import { filesAction, moreHint, type FilesQuery } from '../actions/files';
import { configFrom, type GlobalOptions } from '../context';
import { printJson, printLines } from '../output';
import { collect, integer, statuses } from '../parse';
import { recordJson, recordTable } from '../views';
import type { Status } from '../../ledger';

interface FilesOptions {
  source: string;
  status?: Status[];
  path?: string[];
  limit: number;
  offset: number;
  json?: boolean;
}

/** `--status`, repeatable or comma-separated, any case (files, status). */
export function statusOption(help: string): Option {
  return new Option('--status <status>', `${help} (${STATUSES.join(', ')}; any case)`).argParser(statuses);
}

/** The ledger query of `files` and `status` options (status has no globs and no offset). */
export function filesQueryOf(options: {
  status?: Status[];
  path?: string[];
  limit: number;
  offset?: number;
}): FilesQuery {
  return { statuses: options.status, globs: options.path, limit: options.limit, offset: options.offset ?? 0 };
}

export function registerFilesCommand(program: Command): void {
  program
    .command('files')
    .description("a source's files in the ledger, sorted by path, one page at a time")
    .requiredOption('-s, --source <id>', 'source id')
    .addOption(statusOption('only these statuses, repeatable or comma-separated'))
    .addOption(
      new Option('-p, --path <glob>', 'only paths matching (repeatable; without "/" matches the base name)').argParser(
        collect,
      ),
    )
    .addOption(new Option('-n, --limit <n>', 'rows per page').argParser(integer(1)).default(50))
    .addOption(new Option('--offset <n>', 'skip this many rows (paging)').argParser(integer(0)).default(0))
    .option('--json', 'one JSON document: { source, total, offset, files, more }')
    .action(async (options: FilesOptions) => {
      const config = configFrom(program.opts<GlobalOptions>());
      const { data, exitCode } = await filesAction(config, options.source, filesQueryOf(options));
      if (options.json) printJson({ ...data, files: data.files.map(recordJson) });
      else {
        printLines(data.files.length > 0 ? recordTable(data.files) : [`no files match in source ${data.source}`]);
        const hint = moreHint(data);
        if (hint) printLines([hint]);
      }
      process.exitCode = exitCode;
    });
}
