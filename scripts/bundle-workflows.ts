// Prebuilds the workflow bundle (the container image does this at build time): `ftp-ingest worker` loads it
// through FTP_INGEST_WORKFLOW_BUNDLE instead of bundling src/workflows at every start.
//   node --import tsx scripts/bundle-workflows.ts dist/workflow-bundle.js
import path from 'node:path';
import { writeWorkflowBundle } from '../src/stack/worker-process';

const target = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
void writeWorkflowBundle(target).then((file) => process.stdout.write(`${file}\n`));
