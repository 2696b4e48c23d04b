import type { Command } from 'commander';
import { configFrom, printJson, withLedger, type GlobalOptions } from '../context';

/** Operator actions on single files: retry a REJECTED file, run a DONE version again, read the dead letters. */
export function registerOperatorCommands(program: Command): void {
  program
    .command('retry')
    .description('give REJECTED files new tries (they are claimed by the next poll)')
    .argument('<source>', 'source id')
    .argument('<paths...>', 'remote paths relative to the source dir, as `status` shows them')
    .action(async (sourceId: string, paths: string[]) => {
      const config = configFrom(program.opts<GlobalOptions>());
      await withLedger(config, async (ledger) => {
        for (const path of paths) printJson({ path, ...(await ledger.retryRejected(sourceId, path)) });
      });
    });
  program
    .command('reprocess')
    .description('run DONE (or REJECTED) files again, same version: the backfill of a file')
    .argument('<source>', 'source id')
    .argument('<paths...>', 'remote paths relative to the source dir')
    .action(async (sourceId: string, paths: string[]) => {
      const config = configFrom(program.opts<GlobalOptions>());
      await withLedger(config, async (ledger) => {
        for (const path of paths) printJson({ path, ...(await ledger.reprocess(sourceId, path)) });
      });
    });
  program
    .command('dead-letters')
    .description('the REJECTED transitions of a source, newest last')
    .argument('<source>', 'source id')
    .option('-n, --limit <n>', 'entries', '100')
    .action(async (sourceId: string, options: { limit: string }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      await withLedger(config, async (ledger) => {
        for (const entry of await ledger.deadLetters(sourceId, Number(options.limit))) printJson(entry);
      });
    });
}
