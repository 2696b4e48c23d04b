// Entry point of the workflow bundle: every workflow the worker registers.
export { pollWorkflow } from './poll';
export { fileWorkflow } from './file';
