import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalApiKey, type AppConfig, type TemporalTls } from '../config';
import { checkTls } from './tls-check';

/** A TLS handshake with Temporal that one side refused: a configuration error, named with its setting. */
export class TemporalTlsError extends Error {
  override readonly name = 'TemporalTlsError';
}

/** How long the check after a failed connect may take. */
const TLS_CHECK_TIMEOUT_MS = 3_000;

/** Reads a certificate file named by `temporal.tls.<setting>`; the error names the setting and the file. */
function readTlsFile(setting: keyof TemporalTls, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TemporalTlsError(`cannot read temporal.tls.${setting} (${file}): ${code}`);
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

/** Address, TLS and API key of the Temporal connection, as both SDK clients take them. */
export function temporalConnectionOptions(config: AppConfig, env: NodeJS.ProcessEnv = process.env) {
  const apiKey = temporalApiKey(config.temporal, env);
  return { address: config.temporal.address, tls: temporalTlsOption(config, apiKey), apiKey };
}

/**
 * The error of a failed connect, or a TemporalTlsError naming the refusal and its `temporal.tls` setting when
 * TLS is on and a handshake with the same settings fails (the SDK's own errors do not say which side refused).
 * No certificate or key content enters the message.
 */
export async function explainConnectError(config: AppConfig, tls: boolean | TLSConfig, err: unknown): Promise<unknown> {
  if (tls === false) return err;
  const refusal = await checkTls(config.temporal.address, tls, TLS_CHECK_TIMEOUT_MS).catch(() => undefined);
  if (!refusal) return err;
  const message = `TLS with Temporal at ${config.temporal.address} failed: ${refusal.reason} (${refusal.settings})`;
  return new TemporalTlsError(message, { cause: err });
}

/** A Temporal client for the starter commands. */
export async function connectClient(config: AppConfig, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const options = temporalConnectionOptions(config, env);
  try {
    const connection = await Connection.connect(options);
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw await explainConnectError(config, options.tls, err);
  }
}

/** The worker's connection. */
export async function connectWorker(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NativeConnection> {
  const options = temporalConnectionOptions(config, env);
  try {
    return await NativeConnection.connect(options);
  } catch (err) {
    throw await explainConnectError(config, options.tls, err);
  }
}
