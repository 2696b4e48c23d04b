// The shape of a plugin: what a module named in the config's `plugins` exports (DESIGN.md §9, docs/EXTENDING.md).
import type { AppConfig } from '../config/types';
import type { AnyProcessor } from '../processors/types';
import type { WorkflowProcessorInput } from '../shared/types';

/** An activity of a plugin: any async function of JSON-serializable arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- activities take whatever their workflows pass
export type PluginActivity = (...args: any[]) => Promise<unknown>;

export type PluginActivities = Record<string, PluginActivity>;

/** What a plugin's activities may use from the worker that runs them. */
export interface PluginActivityContext {
  /** The worker's validated configuration (no secrets in it: secrets are references). */
  readonly config: AppConfig;
  /**
   * The absolute path of a workflow processor's `localPath` (relative to this worker's workDir). Throws when the
   * path would leave the workDir.
   */
  localFile(localPath: string): string;
}

/**
 * A workflow processor: a workflow that takes the file (its local copy, identity, idempotency key, fencing
 * token and the source's options) and returns a short JSON result. It lives in the plugin's workflows module.
 */
export type WorkflowProcessor<Result extends object = object, Options = Record<string, unknown>> = (
  input: WorkflowProcessorInput<Options>,
) => Promise<Result>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- options are the source's, checked by the workflow
export type AnyWorkflowProcessor = WorkflowProcessor<object, any>;

export interface PluginDefinition {
  /** Shown in errors and logs; default: the module's path. */
  name?: string;
  /** Processors by the name a source selects with `processor: { name }`. */
  processors?: Record<string, AnyProcessor>;
  /**
   * Activities for the plugin's workflows, registered on every worker (including the host queue of a workDir that
   * is not shared). A function is called once per worker with the worker's context.
   */
  activities?: PluginActivities | ((ctx: PluginActivityContext) => PluginActivities);
  /**
   * The module with the plugin's workflow code (usually `require.resolve('./workflows')`): workflows are bundled
   * apart from Node code, into the worker's workflow bundle beside the product's own. Everything it exports is a
   * workflow; it may import only workflow-safe code (`@temporalio/workflow`, `ftp-ingest/workflow`, types).
   */
  workflowsPath?: string;
  /**
   * The workflow processors among the workflows module's exports, by the name a source selects with
   * `processor: { workflow }`; each key must be the workflow's exported name.
   */
  workflows?: Record<string, AnyWorkflowProcessor>;
}

/** Declares a plugin; gives the types and checks nothing at runtime (the loader does). */
export function definePlugin<const T extends PluginDefinition>(plugin: T): T {
  return plugin;
}
