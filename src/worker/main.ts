import { loadConfig, checkSecrets, type AppConfig } from '../config';
import { connectRedis } from '../connections/redis';
import { connectWorker } from '../connections/temporal';
import { log } from '../log';
import { WORKFLOW_BUNDLE_ENV } from '../stack/worker-process';
import { createIngestWorker } from './create-worker';
import { installRuntime } from './runtime';

/**
 * Runs a worker until SIGINT/SIGTERM: activities drain within shutdownGrace, unfinished ones resume on
 * another worker from their last heartbeat.
 */
export async function runWorker(config: AppConfig = loadConfig()): Promise<void> {
  checkSecrets(config);
  installRuntime();
  const connection = await connectWorker(config);
  const redis = connectRedis(config);
  try {
    const bundle = process.env[WORKFLOW_BUNDLE_ENV];
    const workflowBundle = bundle ? { codePath: bundle } : undefined;
    const worker = await createIngestWorker({ config, connection, redis, workflowBundle });
    log.info(
      { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, clusterId: config.clusterId },
      'worker started',
    );
    await worker.run();
  } finally {
    redis.disconnect();
    await connection.close();
  }
}
