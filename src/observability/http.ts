// The worker's HTTP endpoints: /metrics (Prometheus: the product's metrics plus the Temporal SDK's),
// /healthz (the process is up) and /readyz (Temporal and Redis answer; FTP reachability per source is
// reported but does not make the worker unready: one FTP server down must not take the worker out of service).
import http from 'node:http';
import net from 'node:net';
import { log } from '../log';
import { metrics } from './metrics';

export interface Check {
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) otherwise. */
  probe: () => Promise<unknown>;
}

export interface FtpTarget {
  source: string;
  host: string;
  port: number;
}

export interface ObservabilityServerOptions {
  host: string;
  port: number;
  /** Checks that decide readiness (Temporal, Redis). */
  checks: Check[];
  /** FTP servers, reported in /readyz's body only. */
  ftp?: FtpTarget[];
  /** The SDK's own Prometheus exporter (`http://127.0.0.1:port/metrics`), appended to /metrics. */
  sdkMetricsUrl?: string;
  timeoutMs?: number;
}

export interface ObservabilityServer {
  readonly url: string;
  close(): Promise<void>;
}

interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const respond = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status: number, body: unknown): void =>
      respond(status, 'application/json', `${JSON.stringify(body)}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (url === '/healthz') return json(200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
    if (url === '/readyz') {
      readiness(options, timeoutMs).then(
        (body) => json(body.status === 'ready' ? 200 : 503, body),
        (err: unknown) => json(503, { status: 'unready', error: String(err) }),
      );
      return;
    }
    if (url === '/metrics') {
      scrape(options.sdkMetricsUrl, timeoutMs).then(
        (text) => respond(200, metrics.contentType, text),
        (err: unknown) => respond(500, 'text/plain', `# scrape failed: ${String(err)}\n`),
      );
      return;
    }
    json(404, { error: 'not found', endpoints: ['/metrics', '/healthz', '/readyz'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readiness(options: ObservabilityServerOptions, timeoutMs: number) {
  const [checks, ftp] = await Promise.all([
    Promise.all(options.checks.map(async (c) => [c.name, await timed(c.probe, timeoutMs)] as const)),
    Promise.all(
      (options.ftp ?? []).map(
        async (t) =>
          [t.source, { endpoint: `${t.host}:${t.port}`, ...(await timed(() => tcpConnect(t), timeoutMs)) }] as const,
      ),
    ),
  ]);
  const ready = checks.every(([, r]) => r.ok);
  return {
    status: ready ? 'ready' : 'unready',
    checks: Object.fromEntries(checks),
    ftp: Object.fromEntries(ftp),
  };
}

async function timed(probe: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function tcpConnect({ host, port }: FtpTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

let sdkScrapeWarned = false;

/** The product's metrics, then the SDK's (their names start with `temporal_`, ours with `ftp_ingest_`). */
async function scrape(sdkMetricsUrl: string | undefined, timeoutMs: number): Promise<string> {
  const own = await metrics.text();
  if (!sdkMetricsUrl) return own;
  try {
    const res = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return `${own}\n# Temporal SDK metrics\n${await res.text()}`;
  } catch (err) {
    if (!sdkScrapeWarned) log.warn({ err, sdkMetricsUrl }, 'cannot read the Temporal SDK metrics');
    sdkScrapeWarned = true;
    return own;
  }
}
