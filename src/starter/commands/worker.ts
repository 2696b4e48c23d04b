import type { Command } from 'commander';
import { runWorker } from '../../worker/main';
import { configFrom, type GlobalOptions } from '../context';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker (workflows and activities) until SIGINT/SIGTERM')
    .action(async () => {
      await runWorker(configFrom(program.opts<GlobalOptions>()));
    });
}
