/**
 * The `noop` runtime: runs nothing and succeeds at once. Put in place of a real runtime (the bench
 * runs shell tasks with it), it measures barge's queueing — claims, starts, finishes, log batches,
 * parent counters — apart from the cost of starting processes.
 */
import type { Runtime } from './runtime.js';
import { cancelled, succeeded } from './outcomes.js';

export function createNoopRuntime(): Runtime {
  return {
    name: 'noop',
    run: async (request) => (request.signal.aborted ? cancelled({ exitCode: null }) : succeeded(null, { exitCode: 0 })),
    healthCheck: async () => undefined,
    describe: () => ({ runtime: 'noop' }),
  };
}
