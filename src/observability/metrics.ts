// The product's own Prometheus metrics (prom-client), one registry per process. Activities and the worker call
// the named functions of `metrics`; /metrics serves `metrics.registry` together with the Temporal SDK's metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a connection pool reports (RemoteClients.snapshot), for FTP, FTPS and SFTP alike. */
export interface RemotePoolSnapshot {
  endpoint: string;
  max: number;
  busy: number;
  idle: number;
  waiting: number;
}

export interface RemotePoolSource {
  snapshot(): RemotePoolSnapshot[];
}

const PREFIX = 'ftp_ingest_';
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A short, bounded label value for a failure reason: the leading slug of a reason such as
 * `unsafe-name: …` or `max-tries`, an error type name (`ClaimLost`), or `other`. Free text never becomes a
 * label (unbounded series).
 */
export function reasonLabel(reason: string | undefined): string {
  if (!reason) return 'none';
  const slug = /^([A-Za-z][A-Za-z0-9_-]{0,39})(?::|$)/.exec(reason.trim());
  if (slug?.[1]) return slug[1];
  if (/remote file changed/i.test(reason)) return 'remote-changed';
  if (/cannot read/i.test(reason)) return 'remote-unreadable';
  if (/timed? ?out/i.test(reason)) return 'timeout';
  return 'other';
}

function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX + 'process_' });
  const registers = [registry];
  // One metric of this product: its prefixed name, help text and labels, in this registry.
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name: `${PREFIX}${name}`, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> => new Histogram({ name: `${PREFIX}${name}`, help, labelNames, buckets, registers });

  const claimed = counter('files_claimed_total', 'File versions claimed in the ledger by polls of this worker.', [
    'source',
  ]);
  const committed = counter('files_committed_total', 'Files committed (DONE) by this worker.', ['source']);
  const released = counter(
    'files_released_total',
    'Failed attempts released for a later try (RETRY_WAIT), by reason.',
    ['source', 'reason'],
  );
  const rejected = counter('files_rejected_total', 'Files that ended REJECTED, by reason.', ['source', 'reason']);
  const superseded = counter(
    'files_superseded_total',
    'Attempts that lost their claim to a newer attempt (no commit, no move).',
    ['source'],
  );
  const bytes = counter(
    'bytes_downloaded_total',
    'Bytes of files downloaded (completed downloads, the resumed part not counted twice).',
    ['source'],
  );
  const downloadSeconds = histogram(
    'download_duration_seconds',
    'Duration of download activity runs, by outcome (ok, error).',
    ['source', 'outcome'],
    DURATION_BUCKETS,
  );
  const processSeconds = histogram(
    'process_duration_seconds',
    'Duration of process activity runs, by outcome (ok, error).',
    ['source', 'outcome'],
    DURATION_BUCKETS,
  );
  const claimSeconds = histogram(
    'claim_batch_duration_seconds',
    'Latency of one listing-and-claim of a poll (FTP listing, filters and the ledger claim script).',
    ['source'],
    LATENCY_BUCKETS,
  );
  const pollFailures = counter(
    'poll_failures_total',
    'Failed runs of a poll listing (FTP or ledger unreachable, …), by reason.',
    ['source', 'reason'],
  );
  const lastPoll = gauge(
    'last_poll_timestamp_seconds',
    'When a poll listing of the source last succeeded on this worker (Unix time): alert on time() - max() by source.',
    ['source'],
  );
  const failingWorkflows = gauge(
    'file_workflows_failing_tasks',
    "The source's running file workflows whose workflow tasks keep failing (TemporalReportedProblems), as this worker's polls last counted them.",
    ['source'],
  );
  const strayRejections = counter(
    'unhandled_rejections_total',
    'Promises left rejected in the background (a processor or plugin, or a bug): logged, and the worker went on.',
    [],
  );
  const inFlight = gauge(
    'files_in_flight',
    'File activities running now in this worker process, by activity (download, process, commit, move, release).',
    ['source', 'activity'],
  );

  const pools = new Set<RemotePoolSource>();
  // The names keep their `ftp_pool_` prefix (dashboards use them); SFTP pools report under the same names.
  const poolGauge = (name: string, help: string, pick: (s: RemotePoolSnapshot) => number): Gauge<'endpoint'> =>
    new Gauge({
      name: `${PREFIX}ftp_pool_${name}`,
      help,
      labelNames: ['endpoint'] as const,
      registers,
      collect() {
        this.reset();
        const totals = new Map<string, number>();
        for (const source of pools) {
          for (const snap of source.snapshot())
            totals.set(snap.endpoint, (totals.get(snap.endpoint) ?? 0) + pick(snap));
        }
        for (const [endpoint, value] of totals) this.set({ endpoint }, value);
      },
    });
  poolGauge('in_use', 'Connections to file servers (FTP, FTPS, SFTP) lent out to activities now.', (s) => s.busy);
  poolGauge('idle', 'Logged-in file server connections waiting to be reused.', (s) => s.idle);
  poolGauge('waiting', 'Activities waiting for a free file server connection.', (s) => s.waiting);
  poolGauge('max', 'maxConnections of the pool.', (s) => s.max);

  return {
    registry,
    /** Files a poll claimed (listAndClaim's result). */
    filesClaimed(source: string, count = 1): void {
      if (count > 0) claimed.inc({ source }, count);
    },
    fileCommitted(source: string): void {
      committed.inc({ source });
    },
    fileReleased(source: string, reason?: string): void {
      released.inc({ source, reason: reasonLabel(reason) });
    },
    fileRejected(source: string, reason?: string): void {
      rejected.inc({ source, reason: reasonLabel(reason) });
    },
    fileSuperseded(source: string): void {
      superseded.inc({ source });
    },
    bytesDownloaded(source: string, count: number): void {
      if (count > 0) bytes.inc({ source }, count);
    },
    downloadDuration(source: string, seconds: number, outcome: 'ok' | 'error' = 'ok'): void {
      downloadSeconds.observe({ source, outcome }, seconds);
    },
    processDuration(source: string, seconds: number, outcome: 'ok' | 'error' = 'ok'): void {
      processSeconds.observe({ source, outcome }, seconds);
    },
    claimBatchLatency(source: string, seconds: number): void {
      claimSeconds.observe({ source }, seconds);
    },
    unhandledRejection(): void {
      strayRejections.inc();
    },
    pollSucceeded(source: string): void {
      lastPoll.set({ source }, Date.now() / 1000);
    },
    failingFileWorkflows(source: string, count: number): void {
      failingWorkflows.set({ source }, count);
    },
    pollFailed(source: string, reason?: string): void {
      pollFailures.inc({ source, reason: reasonLabel(reason) });
    },
    /** A file activity started running; call the returned function when it ends. */
    fileActivityStarted(source: string, activity: string): () => void {
      inFlight.inc({ source, activity });
      let ended = false;
      return () => {
        if (!ended) inFlight.dec({ source, activity });
        ended = true;
      };
    },
    /** Reports the pools' in-use/idle/waiting counts at every scrape, until the returned function is called. */
    watchRemotePools(source: RemotePoolSource): () => void {
      pools.add(source);
      return () => pools.delete(source);
    },
    /** The product's metrics in Prometheus text format. */
    text(): Promise<string> {
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The process's metrics. */
export const metrics: Metrics = createMetrics();
