// Secrets are read when they are used, from an environment variable or a file, and never stored in the config
// object (so logging or serializing the config cannot leak them). Errors name the variable or file, never
// the value. A secret file is read once per process and again only when it changes (a stat per use, not a
// read): a rotated file is picked up at its next use. The values read are kept only in this module.
import fs from 'node:fs';
import { ConfigError, type ConfigIssue } from './errors';
import type { AppConfig, RedisConfig, SourceConfig, TemporalConfig } from './types';

/** Where a secret lives. `setting` names the config setting that pointed here, for error messages. */
export type SecretRef = ({ readonly env: string } | { readonly file: string }) & { readonly setting?: string };

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

/** The secret's value. A file's trailing newline is dropped (secret files usually end with one). */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  const by = ref.setting ? ` (${ref.setting})` : '';
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new SecretError(`environment variable ${ref.env}${by} is not set`);
    return value;
  }
  try {
    const stamp = fileStamp(ref.file);
    const known = fileSecrets.get(ref.file);
    if (known?.stamp === stamp) return known.value;
    const value = fs.readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
    if (value === '') throw new SecretError(`secret file ${ref.file}${by} is empty`);
    fileSecrets.set(ref.file, { stamp, value });
    return value;
  } catch (err) {
    if (err instanceof SecretError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SecretError(`cannot read secret file ${ref.file}${by}: ${code}`);
  }
}

/** The secret files read so far in this process: path → value and the stamp of the file it was read from. */
const fileSecrets = new Map<string, { readonly stamp: string; readonly value: string }>();

/** Changes when the file is rewritten or replaced (a new inode, as a mounted secret's symlink swap gives). */
function fileStamp(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The FTP password of a source; '' when it names none (anonymous login). */
export function sourcePassword(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): string {
  const ref = secretRef(source.passwordEnv, source.passwordFile, `sources.${source.id}.password`);
  return ref ? resolveSecret(ref, env) : '';
}

/** An SFTP source's private key (PEM/OpenSSH text), or undefined when it names none. */
export function sourcePrivateKey(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ref = secretRef(source.privateKeyEnv, source.privateKeyFile, `sources.${source.id}.privateKey`);
  return ref ? resolveSecret(ref, env) : undefined;
}

/** The passphrase of an SFTP source's private key, or undefined when it names none. */
export function sourcePassphrase(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (source.passphraseEnv === undefined) return undefined;
  return resolveSecret({ env: source.passphraseEnv, setting: `sources.${source.id}.passphraseEnv` }, env);
}

/** The Redis password, or undefined when none is configured. */
export function redisPassword(redis: RedisConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ref = secretRef(redis.passwordEnv, redis.passwordFile, 'redis.password');
  return ref ? resolveSecret(ref, env) : undefined;
}

/** The Temporal API key, or undefined when none is configured. */
export function temporalApiKey(temporal: TemporalConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ref = secretRef(temporal.apiKeyEnv, temporal.apiKeyFile, 'temporal.apiKey');
  return ref ? resolveSecret(ref, env) : undefined;
}

function secretRef(envName: string | undefined, file: string | undefined, setting: string): SecretRef | undefined {
  if (envName !== undefined) return { env: envName, setting: `${setting}Env` };
  if (file !== undefined) return { file, setting: `${setting}File` };
  return undefined;
}

/** The names of the environment variables that the config reads secrets from. */
export function secretEnvNames(config: AppConfig): string[] {
  const names = [config.temporal.apiKeyEnv, config.redis.passwordEnv];
  for (const source of config.sources) names.push(source.passwordEnv, source.privateKeyEnv, source.passphraseEnv);
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

/** The values of every configured secret that resolves (for redaction: text must never carry one). */
export function configuredSecrets(config: AppConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const values: (string | undefined)[] = [];
  const attempt = (resolve: () => string | undefined): void => {
    try {
      values.push(resolve());
    } catch {
      // a missing secret cannot leak
    }
  };
  attempt(() => temporalApiKey(config.temporal, env));
  attempt(() => redisPassword(config.redis, env));
  for (const source of config.sources) {
    attempt(() => sourcePassword(source, env));
    attempt(() => sourcePassphrase(source, env));
  }
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/** `text` with every occurrence of each secret replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}

/**
 * Resolves every configured secret once, so that a worker fails at start-up rather than at its first file.
 * Throws one ConfigError listing every missing secret (by variable or file name only).
 */
export function checkSecrets(config: AppConfig, env: NodeJS.ProcessEnv = process.env): void {
  const issues: ConfigIssue[] = [];
  const attempt = (path: string, resolve: () => unknown): void => {
    try {
      resolve();
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      issues.push({ path, message: err.message });
    }
  };
  attempt('temporal', () => temporalApiKey(config.temporal, env));
  attempt('redis', () => redisPassword(config.redis, env));
  for (const source of config.sources) {
    attempt(`sources.${source.id}`, () => sourcePassword(source, env));
    attempt(`sources.${source.id}`, () => sourcePrivateKey(source, env));
    attempt(`sources.${source.id}`, () => sourcePassphrase(source, env));
  }
  if (issues.length > 0) throw new ConfigError(issues, 'secrets');
}
