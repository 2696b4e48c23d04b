import { after } from 'node:test';
import { spawnManaged, type ManagedChild } from '../../src/stack/child';
import { waitForPort } from '../../src/stack/ports';

/** A server that forks a process per session (pure-ftpd, sshd), started for this test file and stopped at its end. */
export interface ForkingServer {
  process: ManagedChild;
  stop: () => Promise<void>;
}

/**
 * Starts `command` in its own process group, since its per-session children outlive a killed listener, and waits
 * for its port. `name` is what the error says did not start.
 */
export async function startForkingServer(
  name: string,
  command: string,
  args: string[],
  port: number,
): Promise<ForkingServer> {
  const server = spawnManaged(command, args, { detached: true });
  const stop = async (): Promise<void> => {
    killGroup(server.process.pid, 'SIGTERM');
    await server.stop();
    killGroup(server.process.pid, 'SIGKILL');
  };
  after(stop);
  try {
    await waitForPort(port, '127.0.0.1', 10_000);
  } catch (err) {
    throw new Error(`${name} did not start: ${(err as Error).message}\n${server.output()}`);
  }
  return { process: server, stop };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
