import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();

// A server we started must not outlive us, whatever way this process ends.
function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killAll);

export interface ManagedChild {
  readonly process: ChildProcess;
  /** Output kept for error messages (last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a server process that is killed when this process exits. */
export function spawnManaged(command: string, args: string[], options: SpawnOptions = {}): ManagedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    // A spawn that fails (EAGAIN or EMFILE on a loaded machine, a missing binary) emits 'error', which with no
    // listener is an uncaught exception; and no 'exit' follows, so `stop` would wait forever.
    child.once('error', (err) => {
      keep(Buffer.from(`spawn ${command}: ${err.message}\n`));
      if (child.pid === undefined) {
        running.delete(child);
        resolve();
      }
    });
  });
  return {
    process: child,
    output: () => output,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
