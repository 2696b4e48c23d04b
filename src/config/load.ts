// Loading: defaults ← file ← environment ← programmatic overrides, then one validation pass that collects
// every problem (schema and cross-field rules) into a single ConfigError.
import path from 'node:path';
import { buildConfig } from './build';
import { processorNames } from './defaults';
import { ConfigError } from './errors';
import { CONFIG_FILE_ENV, envOverrides } from './env';
import { readConfigFile } from './file';
import { problemsFromZod, toConfigIssues } from './issues';
import { type DeepPartial, mergeLayers } from './merge';
import { isRecord, type Raw, valueAt } from './problems';
import { crossFieldProblems } from './rules';
import { type ConfigInput, configSchema, type SourcesForm } from './schema';
import { normalizeInput } from './normalize';
import { loadPlugins } from '../plugins/load';
import type { AppConfig } from './types';

export interface ParseOptions {
  /** Processor names that `sources[].processor.name` may use besides the plugins' (default: the built-ins). */
  processors?: readonly string[];
  /** Directory that relative local paths resolve against (default: the working directory). */
  baseDir?: string;
  /** Applied after the environment, e.g. from command-line flags or tests. */
  overrides?: DeepPartial<ConfigInput>;
  /** Where the input came from, for the error message (e.g. the file path). */
  origin?: string;
}

export interface LoadOptions extends Omit<ParseOptions, 'baseDir' | 'origin'> {
  /** Config file (.yaml, .yml, .json); default `env.FTP_INGEST_CONFIG`; none → built-in defaults. */
  file?: string;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Reads the config file (if any), applies the environment and validates. Throws ConfigError. */
export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? nonEmpty(env[CONFIG_FILE_ENV]);
  if (file === undefined) return parseConfig({}, env, options);
  const { path: filePath, content } = readConfigFile(file);
  return parseConfig(content, env, { ...options, baseDir: path.dirname(filePath), origin: filePath });
}

/**
 * Validates a config object (the file's shape). The environment overrides apply only when `env` is given:
 * tests and embedders get exactly what they pass.
 */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = {}, options: ParseOptions = {}): AppConfig {
  if (input !== undefined && input !== null && !isRecord(input)) {
    throw new ConfigError(
      [{ path: '(root)', message: 'the configuration must be an object (key: value)' }],
      options.origin,
    );
  }
  const fromEnv = envOverrides(env);
  const raw = normalizeInput(mergeLayers(input ?? {}, fromEnv.values, options.overrides) as Raw);
  for (const setting of fromEnv.origins.keys()) {
    if (valueAt(options.overrides, setting.split('.')) !== undefined) fromEnv.origins.delete(setting);
  }

  const baseDir = path.resolve(options.baseDir ?? '.');
  const form: SourcesForm = isRecord(raw.sources) ? 'map' : 'list';
  // Plugins first: the processors and workflows they add are names that sources may select.
  const processors = options.processors ?? processorNames;
  const plugins = loadPlugins(Array.isArray(raw.plugins) ? raw.plugins : [], baseDir, processors);
  const schema = configSchema(
    { processors: [...processors, ...plugins.processors], workflows: plugins.workflows },
    form,
  );
  const result = schema.safeParse(raw);
  const problems = [
    ...plugins.problems.map((p) => ({ path: ['plugins', p.index], problem: p.problem, allowed: p.allowed })),
    ...(result.success ? [] : problemsFromZod(result.error.issues, raw, schema)),
    ...crossFieldProblems(raw, form, baseDir),
  ];
  if (!result.success || problems.length > 0) {
    throw new ConfigError(toConfigIssues(problems, raw, fromEnv.origins), options.origin);
  }
  return buildConfig(
    result.data,
    baseDir,
    plugins.plugins.map((p) => p.file),
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}
