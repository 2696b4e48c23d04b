import { spawn } from 'node:child_process';
import { PermanentProcessorError, type Processor } from './types';

export interface CommandResult {
  exitCode: number;
  /** Last bytes of the command's standard output (a short result, not the file's content). */
  stdoutTail: string;
}

const TAIL_BYTES = 512;

/** Environment variables a command does not inherit: the ones that hold the worker's own secrets. */
const withheld = new Set<string>();

/**
 * Names of environment variables that the `command` processor's commands do not get (set by the worker from its
 * config: the variables that hold the FTP, Redis and Temporal secrets, which no user command needs).
 */
export function withholdFromCommands(names: Iterable<string>): void {
  for (const name of names) withheld.add(name);
}

function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !withheld.has(name)));
}

/**
 * Runs a user command on the file, without a shell: `options.command` is an argv array in which `{file}` is
 * replaced by the local path. The command gets the worker's environment without its secrets' variables, and
 * FTP_INGEST_IDEMPOTENCY_KEY, FTP_INGEST_TOKEN, FTP_INGEST_SOURCE and FTP_INGEST_PATH. A non-zero exit is
 * retried; exit codes listed in `options.permanentExitCodes` reject the file at once.
 */
export const command: Processor<CommandResult> = async (ctx) => {
  const argv = commandOption(ctx.options.command).map((arg) => arg.replaceAll('{file}', ctx.localPath));
  const permanent = new Set((ctx.options.permanentExitCodes as number[] | undefined) ?? []);
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: ctx.signal,
    env: {
      ...inheritedEnv(),
      FTP_INGEST_IDEMPOTENCY_KEY: ctx.idempotencyKey,
      FTP_INGEST_TOKEN: String(ctx.token),
      FTP_INGEST_SOURCE: ctx.file.sourceId,
      FTP_INGEST_PATH: ctx.file.path,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-TAIL_BYTES)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-TAIL_BYTES)));
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? -1));
  });
  if (exitCode === 0) return { exitCode, stdoutTail: stdout.trim() };
  const message = `command ${program} exited with ${exitCode}: ${stderr.trim()}`;
  throw permanent.has(exitCode) ? new PermanentProcessorError(message) : new Error(message);
};

function commandOption(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw new PermanentProcessorError('command processor: options.command must be a non-empty array of strings');
  }
  return value;
}
