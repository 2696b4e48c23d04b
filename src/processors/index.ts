export * from './types';
export { getProcessor, processorNames, registerProcessor } from './registry';
