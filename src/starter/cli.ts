import { Command, CommanderError } from 'commander';
import { registerBackfillCommand } from './commands/backfill';
import { registerSizeCommand } from './commands/size';
import { registerDemoCommand } from './commands/demo';
import { registerFilesCommand } from './commands/files';
import { registerInspectCommand } from './commands/inspect';
import { registerOperatorCommands } from './commands/operator';
import { registerPollCommand } from './commands/poll';
import { registerScheduleCommands } from './commands/schedule';
import { registerStackCommand } from './commands/stack';
import { registerStatusCommand } from './commands/status';
import { registerWorkerCommand } from './commands/worker';
import { EXIT, fullStack, toCliError } from './errors';

const program = new Command('ftp-ingest')
  .description('Exactly-once ingestion of files from FTP servers, on Temporal, with a Redis accept-once ledger')
  .option('-c, --config <file>', 'config file (.yaml/.json); default $FTP_INGEST_CONFIG, else the embedded demo')
  .option('-v, --verbose', 'show stack traces of errors (also: env FTP_INGEST_DEBUG=1)')
  .addHelpText(
    'after',
    `
Exit codes: 0 all ok; 1 some items failed (each is named); 2 usage or configuration error (flags, config file,
secrets, FTP login, remote dir, unknown source, Temporal TLS refused); 3 a server is unreachable (Redis, Temporal, FTP) or no worker
took the work. Every data command takes --json. Runbook: docs/OPERATIONS.md`,
  )
  .showHelpAfterError('(add --help for usage)')
  // Parse errors come back here (exit 2) instead of exiting from inside commander; set before the
  // subcommands are added, which inherit it.
  .exitOverride();

registerStackCommand(program);
registerWorkerCommand(program);
registerScheduleCommands(program);
registerPollCommand(program);
registerStatusCommand(program);
registerFilesCommand(program);
registerInspectCommand(program);
registerOperatorCommands(program);
registerBackfillCommand(program);
registerSizeCommand(program);
registerDemoCommand(program);

function verbose(): boolean {
  return (
    process.argv.includes('--verbose') ||
    process.argv.includes('-v') ||
    !['', '0', undefined].includes(process.env.FTP_INGEST_DEBUG)
  );
}

program.parseAsync().then(
  () => process.exit(process.exitCode ?? EXIT.ok),
  (err: unknown) => {
    if (err instanceof CommanderError) {
      // commander has printed its message already; help and version are not errors.
      const ok =
        ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) && err.exitCode === 0;
      process.exit(ok ? EXIT.ok : EXIT.usage);
    }
    const cliError = toCliError(err);
    process.stderr.write(`ftp-ingest: ${cliError.message}\n`);
    if (verbose()) process.stderr.write(`${fullStack(cliError.cause ?? cliError)}\n`);
    process.exit(cliError.exitCode);
  },
);
