import type { Command } from 'commander';
import { runWorker } from '../../worker/main';
import { configFrom, redisError, temporalError, type GlobalOptions } from '../context';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker (workflows and activities) until SIGINT/SIGTERM')
    .action(async () => {
      const config = configFrom(program.opts<GlobalOptions>());
      try {
        await runWorker(config);
      } catch (err) {
        // A server that is away at start-up: one line naming it and its address (exit 3).
        throw redisError(config, temporalError(config, err));
      }
    });
}
