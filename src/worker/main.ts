import type { NativeConnection } from '@temporalio/worker';
import type Redis from 'ioredis';
import { loadConfig, checkSecrets, configuredSecrets, redactSecrets, type AppConfig } from '../config';
import { closeRedis, connectRedis } from '../connections/redis';
import { connectWorker } from '../connections/temporal';
import { log, logStrayRejections, routeProcessWarnings } from '../log';
import { startObservabilityServer, type ObservabilityServer } from '../observability/http';
import { metrics } from '../observability/metrics';
import { WORKFLOW_BUNDLE_ENV } from '../stack/worker-process';
import { freePort } from '../stack/ports';
import { createIngestWorker } from './create-worker';
import { applyWorkerFlagsToNewIsolates } from './memory';
import { installRuntime } from './runtime';

/**
 * Runs a worker until SIGINT/SIGTERM: activities drain within shutdownGrace, unfinished ones resume on
 * another worker from their last heartbeat. Serves /metrics, /healthz and /readyz on worker.metricsPort.
 */
export async function runWorker(config: AppConfig = loadConfig()): Promise<void> {
  checkSecrets(config);
  routeProcessWarnings();
  logStrayRejections(
    (text) => redactSecrets(text, configuredSecrets(config)),
    () => metrics.unhandledRejection(),
  );
  applyWorkerFlagsToNewIsolates();
  // The SDK's Prometheus exporter binds its own address: a private loopback port that /metrics reads.
  const sdkMetricsAddress = config.worker.metricsPort > 0 ? `127.0.0.1:${await freePort()}` : undefined;
  installRuntime({ sdkMetricsAddress });
  const connection = await connectWorker(config);
  const redis = connectRedis(config);
  let endpoints: ObservabilityServer | undefined;
  try {
    endpoints = await startEndpoints(config, connection, redis, sdkMetricsAddress);
    const bundle = process.env[WORKFLOW_BUNDLE_ENV];
    const workflowBundle = bundle ? { codePath: bundle } : undefined;
    const worker = await createIngestWorker({ config, connection, redis, workflowBundle });
    log.info(
      {
        taskQueue: config.temporal.taskQueue,
        namespace: config.temporal.namespace,
        clusterId: config.clusterId,
        endpoints: endpoints?.url,
      },
      'worker started',
    );
    await worker.run();
  } finally {
    await endpoints?.close();
    await closeRedis(redis);
    await connection.close();
  }
}

/**
 * The worker's HTTP server, or undefined when `worker.metricsPort` is 0. A port already taken (another worker on
 * this host) is logged and the worker runs without it.
 */
export async function startEndpoints(
  config: AppConfig,
  connection: NativeConnection,
  redis: Redis,
  sdkMetricsAddress?: string,
): Promise<ObservabilityServer | undefined> {
  const { metricsPort, metricsHost } = config.worker;
  if (metricsPort === 0) return undefined;
  try {
    return await startObservabilityServer({
      host: metricsHost,
      port: metricsPort,
      sdkMetricsUrl: sdkMetricsAddress ? `http://${sdkMetricsAddress}/metrics` : undefined,
      checks: [
        { name: 'temporal', probe: () => connection.workflowService.getSystemInfo({}) },
        {
          name: 'redis',
          probe: async () => {
            if (redis.status !== 'ready') throw new Error(`redis connection is ${redis.status}`);
            await redis.ping();
          },
        },
      ],
      ftp: config.sources.map((s) => ({ source: s.id, host: s.host, port: s.port })),
    });
  } catch (err) {
    log.warn({ err, host: metricsHost, port: metricsPort }, 'metrics and health endpoints not started');
    return undefined;
  }
}
