// Loading the plugins a config names: resolved from the config file's folder (a path, or a package found from
// there with Node's own resolution), required once per process, checked, and their names collected. It runs
// before the config is validated: the processor and workflow names it finds are inputs of the schema.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AnyWorkflowProcessor, PluginDefinition } from './define';

export interface LoadedPlugin {
  /** As written in the config. */
  readonly spec: string;
  /** The module file it resolved to (absolute). */
  readonly file: string;
  readonly name: string;
  readonly definition: PluginDefinition;
}

export interface PluginProblem {
  /** Index in `plugins`. */
  readonly index: number;
  readonly problem: string;
  readonly allowed?: string;
}

export interface LoadedPlugins {
  readonly plugins: readonly LoadedPlugin[];
  /** Processor names the plugins add. */
  readonly processors: readonly string[];
  /** Workflow processor names the plugins add. */
  readonly workflows: readonly string[];
  readonly problems: readonly PluginProblem[];
}

/** Loads module files by absolute path (plugins, their workflows modules, the product's workflows). */
const requireModule = createRequire(__filename);

/**
 * A worker run from the compiled lib/ has no TypeScript loader, but plugins may be TypeScript and import
 * `ftp-ingest/plugin`, which is the sources: tsx is registered before the first plugin is loaded.
 */
function withTypeScript(): void {
  if (!requireModule.extensions['.ts']) requireModule('tsx/cjs');
}

const NOT_A_PLUGIN =
  'export definePlugin({ processors, activities, workflowsPath, workflows }) as the default export or module.exports';

/**
 * Resolves and loads `specs` (the config's `plugins`) from `baseDir`. `taken` holds the processor names that exist
 * already (built-ins and registered ones): a plugin may not redefine them. Never throws: every problem is returned
 * with the index of the plugin it is about.
 */
export function loadPlugins(specs: readonly unknown[], baseDir: string, taken: readonly string[]): LoadedPlugins {
  const plugins: LoadedPlugin[] = [];
  const problems: PluginProblem[] = [];
  const processorOwners = new Map<string, string>(taken.map((name) => [name, 'ftp-ingest']));
  const workflowOwners = new Map<string, string>();
  const processors: string[] = [];
  const workflows: string[] = [];
  const requireFrom = createRequire(path.join(path.resolve(baseDir), 'noop.js'));
  if (specs.length > 0) withTypeScript();

  specs.forEach((spec, index) => {
    if (typeof spec !== 'string' || spec === '') return; // the schema reports it
    const fail = (problem: string, allowed?: string): void => void problems.push({ index, problem, allowed });
    let file: string;
    try {
      file = requireFrom.resolve(spec);
    } catch {
      return fail(
        'plugin module not found',
        "a path relative to the config file's folder (./my-plugins.js) or a package installed there (@acme/ftp-steps)",
      );
    }
    let definition: PluginDefinition;
    try {
      definition = pluginExport(requireFrom(file) as unknown);
    } catch (err) {
      return fail(`plugin module failed to load: ${firstLine(err)}`);
    }
    if (!isPlugin(definition)) return fail('not a plugin', NOT_A_PLUGIN);
    const name = definition.name ?? spec;
    const before = problems.length;

    for (const [processor, fn] of Object.entries(definition.processors ?? {})) {
      if (typeof fn !== 'function') fail(`processor "${processor}" is not a function`);
      else if (processorOwners.has(processor)) {
        fail(`processor "${processor}" is already defined by ${processorOwners.get(processor)}`, 'a new name');
      } else processorOwners.set(processor, name);
    }
    for (const problem of workflowProblems(definition, name, workflowOwners)) fail(problem);
    if (problems.length > before) return;

    plugins.push({ spec, file, name, definition });
    processors.push(...Object.keys(definition.processors ?? {}));
    workflows.push(...Object.keys(definition.workflows ?? {}));
  });
  return { plugins, processors, workflows, problems };
}

/** Loads plugins from module files resolved earlier (a worker loads the files its validated config names). */
export function loadPluginFiles(files: readonly string[]): LoadedPlugin[] {
  if (files.length > 0) withTypeScript();
  return files.map((file) => {
    const definition = pluginExport(requireModule(file) as unknown);
    if (!isPlugin(definition)) throw new Error(`${file} is not a plugin: ${NOT_A_PLUGIN}`);
    return { spec: file, file, name: definition.name ?? file, definition };
  });
}

/** The workflows a plugin adds must exist in its workflows module and clash with no other workflow name. */
function workflowProblems(definition: PluginDefinition, name: string, owners: Map<string, string>): string[] {
  const { workflowsPath, workflows = {} } = definition;
  if (workflowsPath === undefined) {
    return Object.keys(workflows).length > 0 ? ['workflows need workflowsPath: the module that exports them'] : [];
  }
  if (!path.isAbsolute(workflowsPath) || !fs.existsSync(workflowsPath)) {
    return [`workflowsPath ${workflowsPath} is not an existing absolute path (use require.resolve('./workflows'))`];
  }
  let exported: Record<string, unknown>;
  try {
    exported = requireModule(workflowsPath) as Record<string, unknown>;
  } catch (err) {
    return [`workflows module failed to load: ${firstLine(err)}`];
  }
  if (!owners.has('fileWorkflow')) {
    // The product's own workflow names, loaded only when a plugin adds workflows.
    for (const own of Object.keys(requireModule('../workflows') as object)) owners.set(own, 'ftp-ingest');
  }
  const problems: string[] = [];
  for (const [workflow, fn] of Object.entries<AnyWorkflowProcessor>(workflows)) {
    if (exported[workflow] !== fn) {
      problems.push(`workflow "${workflow}" is not exported under that name by its workflows module`);
    }
  }
  for (const exportName of Object.keys(exported)) {
    const owner = owners.get(exportName);
    if (owner !== undefined) problems.push(`workflow "${exportName}" is already defined by ${owner}`);
    else owners.set(exportName, name);
  }
  return problems;
}

function pluginExport(mod: unknown): PluginDefinition {
  const candidate = (mod as { default?: unknown } | null)?.default ?? mod;
  return candidate as PluginDefinition;
}

function isPlugin(value: unknown): value is PluginDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const keys = ['processors', 'activities', 'workflowsPath', 'workflows'];
  return keys.some((key) => key in value) && Object.keys(value).every((key) => [...keys, 'name'].includes(key));
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
