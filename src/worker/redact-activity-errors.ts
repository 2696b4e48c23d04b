// The last guard before an activity's failure reaches workflow history and the worker's log: no configured secret
// stays in what any activity throws, the product's own and a plugin's alike (src/activities/processor-output.ts).
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { redacted } from '../activities/processor-output';

/** An activity interceptor that redacts `secrets` from every activity's failure (message, stack, causes). */
export function redactActivityErrors(secrets: readonly string[]): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          throw secrets.length > 0 ? redacted(err, secrets) : err;
        }
      },
    },
  });
}
