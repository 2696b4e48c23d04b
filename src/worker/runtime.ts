import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { cleanFields, log, logLevelFrom } from '../log';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

const sdkLevel: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

export interface RuntimeOptions {
  /**
   * Loopback address (`127.0.0.1:port`) where the SDK's own Prometheus exporter listens. The worker's /metrics
   * reads it and serves its text together with the product's metrics, so one scrape target has both.
   */
  sdkMetricsAddress?: string;
}

/** SDK warnings about what this project does on purpose: the polls' queue runs activities only. */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * Routes the SDK's logs (worker, workflows, activities, and core's forwarded logs) into the process logger,
 * with errors serialised (message, type, cause) and task tokens dropped; optionally turns on the SDK's
 * Prometheus metrics. Call once, before connecting.
 */
export function installRuntime(options: RuntimeOptions = {}): void {
  Runtime.install({
    logger: new DefaultLogger(sdkLevel[logLevelFrom()] ?? 'INFO', ({ level, message, meta }) => {
      log[EXPECTED_WARNINGS.has(message) ? 'debug' : levels[level]]({ sdk: true, ...cleanFields(meta) }, message);
    }),
    ...(options.sdkMetricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } }
      : {}),
  });
}
