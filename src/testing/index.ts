// Test helpers for plugins (`ftp-ingest/testing`): a processor run without servers, and the whole product on
// real servers (Temporal dev server, Redis, an FTP server) for end-to-end tests with node:test.
export { runProcessor, type ProcessorRun, type RunProcessorOptions } from './run-processor';
export {
  PASSWORD,
  usePipeline,
  type Pipeline,
  type PipelineOptions,
  type TestSource,
} from '../../test/helpers/pipeline';
export { waitUntil } from '../../test/helpers/fault-run';
export { processorWorkflowId } from '../shared/ids';
