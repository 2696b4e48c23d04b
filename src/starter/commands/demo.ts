import path from 'node:path';
import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo';
import { processorNames } from '../../processors';
import { printJson } from '../context';

interface DemoCommandOptions {
  files: string;
  processor: string;
  workers: string;
  once?: boolean;
  dataDir: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the embedded demo: stack, sample files, worker processes, schedule and live progress')
    .option('--files <n>', 'sample files to put on the FTP server', '20')
    .option('--processor <name>', `processor to run (${processorNames().join(', ')})`, 'delay')
    .option('--workers <n>', 'worker processes', '2')
    .option('--once', 'exit when every file is DONE or REJECTED; last line: a JSON summary')
    .option('--data-dir <dir>', 'where the demo keeps its data (emptied at start)', '.data/demo')
    .action(async (options: DemoCommandOptions) => {
      const files = positiveInt('--files', options.files);
      const workers = positiveInt('--workers', options.workers);
      if (!processorNames().includes(options.processor)) {
        throw new Error(`--processor must be one of ${processorNames().join(', ')}, got ${options.processor}`);
      }
      const summary = await runDemo({
        files,
        workers,
        processor: options.processor,
        once: options.once ?? false,
        dataDir: path.resolve(options.dataDir),
      });
      printJson(summary);
    });
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
}
