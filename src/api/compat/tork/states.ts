/**
 * barge's states in Tork's words (tork.md §8.1): the one table this module maps states with.
 *
 * - A barge job is SUBMITTED/PENDING only inside its submit transaction; once its first
 *   executions are queued it is RUNNABLE, which is Tork's SCHEDULED (the coordinator started it
 *   and its first task waits on a queue). STARTING (claimed, preparing) already counts as Tork's
 *   RUNNING, as a Tork task is RUNNING once a worker took it.
 * - A PENDING execution is an `each` item waiting for a concurrency slot: Tork's CREATED.
 * - Tork stamps `completedAt` only on success and `failedAt` only on failure; a cancelled job or
 *   task shows neither (tork-web leaves its runtime blank). barge keeps one `completedAt` for every
 *   end, so the table also says which of Tork's two timestamps an end goes to.
 */
import type { State } from '../../../core/states.js';

export type TorkJobState = 'PENDING' | 'SCHEDULED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type TorkTaskState =
  | 'CREATED'
  | 'PENDING'
  | 'SCHEDULED'
  | 'RUNNING'
  | 'CANCELLED'
  | 'STOPPED'
  | 'COMPLETED'
  | 'FAILED'
  | 'SKIPPED';

/** Which of Tork's end timestamps barge's `completedAt` becomes. */
export type EndStamp = 'completedAt' | 'failedAt' | null;

interface Mapping {
  job: TorkJobState;
  task: TorkTaskState;
  end: EndStamp;
}

const STATE_TABLE: Record<State, Mapping> = {
  SUBMITTED: { job: 'PENDING', task: 'PENDING', end: null },
  PENDING: { job: 'PENDING', task: 'CREATED', end: null },
  RUNNABLE: { job: 'SCHEDULED', task: 'SCHEDULED', end: null },
  STARTING: { job: 'RUNNING', task: 'RUNNING', end: null },
  RUNNING: { job: 'RUNNING', task: 'RUNNING', end: null },
  SUCCEEDED: { job: 'COMPLETED', task: 'COMPLETED', end: 'completedAt' },
  FAILED: { job: 'FAILED', task: 'FAILED', end: 'failedAt' },
  CANCELLED: { job: 'CANCELLED', task: 'CANCELLED', end: null },
  // A job is never SKIPPED; a task skipped by its `if` completes at once in Tork.
  SKIPPED: { job: 'COMPLETED', task: 'SKIPPED', end: 'completedAt' },
};

export function torkJobState(state: State): TorkJobState {
  return STATE_TABLE[state].job;
}

export function torkTaskState(state: State): TorkTaskState {
  return STATE_TABLE[state].task;
}

export function endStamp(state: State): EndStamp {
  return STATE_TABLE[state].end;
}

/**
 * Search words that name a Tork job state barge spells differently, in the word barge's
 * full-text index holds (`q=completed` finds SUCCEEDED jobs, `q=scheduled` RUNNABLE ones).
 * Derived from the table: for each Tork state that is not also a barge state, the first barge
 * state that maps to it.
 */
export const SEARCH_WORD_OF_TORK_STATE: ReadonlyMap<string, string> = (() => {
  const words = new Map<string, string>();
  const bargeStates = new Set(Object.keys(STATE_TABLE));
  for (const [state, mapping] of Object.entries(STATE_TABLE) as Array<[State, Mapping]>) {
    const word = mapping.job.toLowerCase();
    if (!bargeStates.has(mapping.job) && !words.has(word)) words.set(word, state.toLowerCase());
  }
  return words;
})();

/** Tork's "active" job states for cancel: a job is cancellable once it is SCHEDULED or RUNNING. */
export function isCancellable(state: State): boolean {
  const tork = torkJobState(state);
  return tork === 'RUNNING' || tork === 'SCHEDULED';
}

/** Tork restarts only FAILED and CANCELLED jobs. */
export function isRestartable(state: State): boolean {
  const tork = torkJobState(state);
  return tork === 'FAILED' || tork === 'CANCELLED';
}
