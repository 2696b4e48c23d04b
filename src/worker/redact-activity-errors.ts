// The last guard before an activity's failure reaches workflow history and the worker's log: no configured secret
// stays in what any activity throws, the product's own and a plugin's alike (src/activities/processor-output.ts).
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { redacted } from '../activities/processor-output';

/**
 * An activity interceptor that redacts the configured secrets from every activity's failure (message, stack,
 * causes). Asked at each failure: a secret file rotated since the worker started counts with its new value.
 */
export function redactActivityErrors(secrets: () => readonly string[]): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          const now = secrets();
          throw now.length > 0 ? redacted(err, now) : err;
        }
      },
    },
  });
}
