import { Command } from 'commander';
import { ConfigError } from '../config';
import { registerDemoCommand } from './commands/demo';
import { registerOperatorCommands } from './commands/operator';
import { registerPollCommand } from './commands/poll';
import { registerScheduleCommands } from './commands/schedule';
import { registerStackCommand } from './commands/stack';
import { registerStatusCommand } from './commands/status';
import { registerWorkerCommand } from './commands/worker';

const program = new Command('ftp-ingest')
  .description('Exactly-once ingestion of files from FTP servers, on Temporal, with a Redis accept-once ledger')
  .option('-c, --config <file>', 'config file (.yaml/.json); default $FTP_INGEST_CONFIG, else the embedded demo')
  .showHelpAfterError();

registerStackCommand(program);
registerWorkerCommand(program);
registerScheduleCommands(program);
registerPollCommand(program);
registerStatusCommand(program);
registerOperatorCommands(program);
registerDemoCommand(program);

program.parseAsync().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    // Config errors already name the setting, the value and what is allowed: no stack trace needed.
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`ftp-ingest: ${message}\n`);
    process.exit(1);
  },
);
