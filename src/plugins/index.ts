// The public API for plugin packages (`ftp-ingest/plugin`): Node-side code (processors, activities, the plugin).
// Workflow code imports `ftp-ingest/workflow` instead: it is bundled apart and must stay free of Node modules.
export {
  definePlugin,
  type AnyWorkflowProcessor,
  type PluginActivities,
  type PluginActivity,
  type PluginActivityContext,
  type PluginDefinition,
  type WorkflowProcessor,
} from './define';
export {
  PermanentProcessorError,
  type AnyProcessor,
  type FileIdentity,
  type Processor,
  type ProcessorContext,
  type Progress,
} from '../processors/types';
export { idempotencyKeyOf, processorWorkflowId } from '../shared/ids';
export type { WorkflowProcessorInput } from '../shared/types';
