import path from 'node:path';
import { Option, type Command } from 'commander';
import { runDemo } from '../../demo/run-demo';
import { processorNames } from '../../processors';
import { printJson } from '../context';
import { integer } from '../parse';

interface DemoCommandOptions {
  files: number;
  processor: string;
  workers: number;
  once?: boolean;
  dataDir: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the embedded demo: stack, sample files, worker processes, schedule and live progress')
    // Bad values are refused by the parsers (usage error, exit 2) before any server starts.
    .addOption(new Option('--files <n>', 'sample files to put on the FTP server').argParser(integer(1)).default(20))
    .addOption(
      new Option('--processor <name>', 'processor to run (command: `wc -c` on each file)')
        .choices(processorNames())
        .default('delay'),
    )
    .addOption(
      new Option('--workers <n>', 'worker processes (one that dies is reported and restarted)')
        .argParser(integer(1))
        .default(2),
    )
    .option(
      '--once',
      'exit when every file is DONE or REJECTED (exit 0, rejected files included); last line: a JSON summary',
    )
    .option(
      '--data-dir <dir>',
      'where the demo keeps its data: emptied at start, so it must be new, empty or an earlier demo run',
      '.data/demo',
    )
    .action(async (options: DemoCommandOptions) => {
      const summary = await runDemo({
        files: options.files,
        workers: options.workers,
        processor: options.processor,
        once: options.once ?? false,
        dataDir: path.resolve(options.dataDir),
      });
      printJson(summary);
    });
}
