// The plugin: what the config's `plugins: ["<this package>"]` loads.
import { definePlugin } from 'ftp-ingest/plugin';
import { createReviewActivities } from './activities';
import { csvToJsonl } from './csv-to-jsonl';
import { review } from './workflows';

export default definePlugin({
  name: '@acme/ftp-ingest-example-plugin',
  processors: { 'csv-to-jsonl': csvToJsonl },
  activities: createReviewActivities,
  // Workflow code is bundled apart from this (Node) module: name the module, and the processors it exports.
  workflowsPath: require.resolve('./workflows'),
  workflows: { review },
});

export { csvToJsonl } from './csv-to-jsonl';
export type { CsvCheckpoint, CsvOptions, CsvResult } from './csv-to-jsonl';
export { decisionSignal, statusQuery, APPROVAL_TIMEOUT } from './workflows';
export type { Decision, ReviewOptions, ReviewResult, ReviewStatus } from './workflows';
