import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalApiKey, type AppConfig } from '../config';

function connectionOptions(config: AppConfig, env: NodeJS.ProcessEnv) {
  const apiKey = temporalApiKey(config.temporal, env);
  return { address: config.temporal.address, tls: config.temporal.tls || apiKey !== undefined, apiKey };
}

/** A Temporal client for the starter commands. */
export async function connectClient(config: AppConfig, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config, env));
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The worker's connection. */
export async function connectWorker(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config, env));
}
