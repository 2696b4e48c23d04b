import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { pollWorkflow } from '../../workflows';
import { FTP_KIND, FTP_SOURCE } from '../../shared/search-attributes';
import { configFrom, printJson, selectSources, withClient, type GlobalOptions } from '../context';

export function registerPollCommand(program: Command): void {
  program
    .command('poll')
    .description('poll now (a pollWorkflow outside the schedule) and print each summary as one JSON line')
    .option('-s, --source <id>', 'only this source')
    .action(async (options: { source?: string }) => {
      const config = configFrom(program.opts<GlobalOptions>());
      await withClient(config, async (client) => {
        for (const source of selectSources(config, options.source)) {
          try {
            const summary = await client.workflow.execute(pollWorkflow, {
              taskQueue: config.temporal.taskQueue,
              workflowId: `ftp-poll/${source.id}/manual-${new Date().toISOString()}`,
              args: [{ sourceId: source.id }],
              typedSearchAttributes: [
                { key: FTP_KIND, value: 'poll' },
                { key: FTP_SOURCE, value: source.id },
              ],
            });
            printJson(summary);
          } catch (err) {
            if (!(err instanceof WorkflowFailedError)) throw err;
            // The poll's own reason (bad login, missing directory), not "Workflow execution failed".
            process.stderr.write(`ftp-ingest: poll of ${source.id} failed: ${innermostMessage(err)}\n`);
            process.exitCode = 1;
          }
        }
      });
    });
}

function innermostMessage(err: Error): string {
  let deepest = err;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}
