import path from 'node:path';
import type { ManagedChild } from '../stack/child';
import { freePort, portIsFree } from '../stack/ports';
import { spawnWorkerProcess } from '../stack/worker-process';

/** Restarts of dead workers, all workers together, before the demo gives up on them. */
export const MAX_WORKER_RESTARTS = 5;
/** Worker 1's /metrics port when it is free; the others follow. */
const PREFERRED_METRICS_PORT = 9464;

export interface DemoWorkersOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  /** Where each worker's log goes (`worker-<n>.log`). */
  dataDir: string;
}

interface WorkerSlot {
  number: number;
  metricsPort: number;
  logFile: string;
  child: ManagedChild;
}

/**
 * The demo's worker processes. One that exits while the demo runs (killed, crashed) is reported and started
 * again, so its files go on; after MAX_WORKER_RESTARTS restarts the demo fails with `failure` instead.
 */
export class DemoWorkers {
  private readonly slots: WorkerSlot[] = [];
  private readonly notices: string[] = [];
  private restarts = 0;
  private stopping = false;
  /** Set once workers keep dying: the demo stops with it. */
  failure: Error | undefined;

  constructor(private readonly options: DemoWorkersOptions) {}

  async start(count: number): Promise<void> {
    for (let number = 1; number <= count; number++) {
      const metricsPort = await metricsPortFor(number);
      const logFile = path.join(this.options.dataDir, `worker-${number}.log`);
      const slot: WorkerSlot = { number, metricsPort, logFile, child: this.spawn(metricsPort, logFile) };
      this.slots.push(slot);
      this.watchExit(slot);
    }
  }

  /** The /metrics address of each worker, as it was bound (a port taken since is logged by the worker). */
  metricsUrls(): string[] {
    return this.slots.map((slot) => `http://127.0.0.1:${slot.metricsPort}/metrics`);
  }

  /** Lines to show since the last call (worker exits and restarts). */
  takeNotices(): string[] {
    return this.notices.splice(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((slot) => slot.child.stop()));
  }

  private spawn(metricsPort: number, logFile: string): ManagedChild {
    // Each worker's /metrics, /healthz, /readyz on its own port.
    const env = { ...this.options.env, FTP_INGEST_METRICS_PORT: String(metricsPort) };
    return spawnWorkerProcess({ configFile: this.options.configFile, env, logFile });
  }

  private watchExit(slot: WorkerSlot): void {
    slot.child.process.once('exit', (code, signal) => {
      if (!this.stopping) this.onUnexpectedExit(slot, signal ? `signal ${signal}` : `exit code ${code}`);
    });
  }

  private onUnexpectedExit(slot: WorkerSlot, how: string): void {
    const what = `worker ${slot.number} exited unexpectedly (${how}); its log: ${slot.logFile}`;
    if (this.restarts >= MAX_WORKER_RESTARTS) {
      this.failure = new Error(`${what}\nworkers were restarted ${this.restarts} times already: the demo stops`);
      return;
    }
    this.restarts++;
    this.notices.push(`${what}; restarting it`);
    slot.child = this.spawn(slot.metricsPort, slot.logFile);
    this.watchExit(slot);
  }
}

/** 9464, 9465, … when free (the usual addresses); a free port otherwise, so the address printed is bound. */
async function metricsPortFor(number: number): Promise<number> {
  const preferred = PREFERRED_METRICS_PORT + number - 1;
  return (await portIsFree(preferred)) ? preferred : freePort();
}
