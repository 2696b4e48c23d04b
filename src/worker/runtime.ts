import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { log } from '../log';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the SDK's logs (worker, workflows, activities) into the process logger. Call once, before connecting. */
export function installRuntime(): void {
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      log[levels[level]]({ ...meta }, message);
    }),
  });
}
