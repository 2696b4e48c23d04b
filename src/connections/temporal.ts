import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalApiKey, type AppConfig, type TemporalTls } from '../config';

/** Reads a certificate file named by `temporal.tls.<setting>`; the error names the setting and the file. */
function readTlsFile(setting: keyof TemporalTls, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read temporal.tls.${setting} (${file}): ${code}`);
  }
}

/**
 * The SDK's `tls` option: `temporal.tls` as given, or TLS with system CAs when an API key is set (Temporal
 * Cloud). Certificate files are read at each connect, so a renewed certificate is picked up by a restart.
 */
export function temporalTlsOption(config: AppConfig, apiKey: string | undefined): boolean | TLSConfig {
  const tls = config.temporal.tls;
  if (typeof tls === 'boolean') return tls || apiKey !== undefined;
  return {
    ...(tls.ca ? { serverRootCACertificate: readTlsFile('ca', tls.ca) } : {}),
    ...(tls.cert && tls.key
      ? { clientCertPair: { crt: readTlsFile('cert', tls.cert), key: readTlsFile('key', tls.key) } }
      : {}),
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
}

function connectionOptions(config: AppConfig, env: NodeJS.ProcessEnv) {
  const apiKey = temporalApiKey(config.temporal, env);
  return { address: config.temporal.address, tls: temporalTlsOption(config, apiKey), apiKey };
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
