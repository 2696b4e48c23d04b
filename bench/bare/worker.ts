// A worker process for the bare ceiling: `node --import tsx bench/bare/worker.ts <temporal> <redis> <queue>`.
// The product worker's settings: activity slots, workflow cache, workflow task slots.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import Redis from 'ioredis';
import { bareActivities } from './activities';

async function main(): Promise<void> {
  const [address, redisUrl, taskQueue, slots, bundle, cache] = process.argv.slice(2);
  if (!address || !redisUrl || !taskQueue || !bundle)
    throw new Error('usage: worker.ts <temporal> <redis> <queue> <slots> <bundle>');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const redis = new Redis(redisUrl);
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: bareActivities(redis),
    maxConcurrentActivityTaskExecutions: Number(slots),
    maxCachedWorkflows: Number(cache),
    maxConcurrentWorkflowTaskExecutions: Math.min(40, Number(cache) || 40),
  });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  redis.disconnect();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
