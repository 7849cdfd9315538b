/** Small constructors for the ways a run can end, shared by the runtimes. */
import type { RunOutcome } from './runtime.js';

export type Ending = Pick<RunOutcome, 'exitCode'>;

export function succeeded(result: string | null, ending: Ending): RunOutcome {
  return { state: 'SUCCEEDED', result, error: null, reason: null, ...ending };
}

export function failed(error: string, reason: string | null, ending: Ending): RunOutcome {
  return { state: 'FAILED', result: null, error, reason, ...ending };
}

export function cancelled(ending: Ending): RunOutcome {
  return { state: 'CANCELLED', result: null, error: 'cancelled', reason: 'cancelled', ...ending };
}

export function timedOut(timeoutMs: number, ending: Ending): RunOutcome {
  return failed(`timed out after ${formatMs(timeoutMs)}`, 'timeout', ending);
}

/** A task feature the runtime cannot honour, refused before anything runs. */
export function refused(feature: string, runtime: string, plural = false): RunOutcome {
  const verb = plural ? 'are' : 'is';
  return failed(`${feature} ${verb} not supported by the ${runtime} runtime`, `unsupported: ${feature}`, { exitCode: null });
}

/** 250 → "250ms", 1500 → "1.5s", 90000 → "90s": short, and exact enough for an error message. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}
