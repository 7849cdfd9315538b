/**
 * The one state vocabulary shared by jobs and executions (taken from AWS Batch), and the
 * transition table every state write consults. An illegal transition is a bug: `assertTransition`
 * throws instead of letting a write silently overwrite a state.
 *
 * Who moves a row out of each state:
 * - SUBMITTED: the engine, in the submit transaction (to PENDING or RUNNABLE).
 * - PENDING:   the engine, when dependencies finish or an `each` slot frees (to RUNNABLE, SKIPPED,
 *              RUNNING for composites), or cancel.
 * - RUNNABLE:  a worker's claim (to STARTING), cancel, or the engine skipping it.
 * - STARTING:  the worker's start report (to RUNNING), its finish report, cancel, or the reaper
 *              when the lease expires (back to RUNNABLE as a new attempt, or FAILED).
 * - RUNNING:   the worker's finish report, cancel, or the reaper.
 * - SUCCEEDED, FAILED, CANCELLED, SKIPPED: final; only restart (a job) leaves FAILED or CANCELLED.
 */
export const STATES = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'SKIPPED',
] as const;

export type State = (typeof STATES)[number];

export const FINAL_STATES: readonly State[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED'];
export const ACTIVE_STATES: readonly State[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];

export function isFinal(state: State): boolean {
  return FINAL_STATES.includes(state);
}

/** Legal execution transitions. */
const EXECUTION_TRANSITIONS: Record<State, readonly State[]> = {
  SUBMITTED: ['PENDING', 'RUNNABLE', 'RUNNING', 'SKIPPED', 'CANCELLED', 'FAILED'],
  PENDING: ['RUNNABLE', 'RUNNING', 'SKIPPED', 'CANCELLED', 'FAILED'],
  RUNNABLE: ['STARTING', 'PENDING', 'SKIPPED', 'CANCELLED', 'FAILED'],
  // STARTING → RUNNABLE only via the reaper's lease rescue (the new attempt is a new row, but a
  // claim that never started can be handed back), → SUCCEEDED/FAILED when the start report is lost.
  STARTING: ['RUNNING', 'RUNNABLE', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
  SKIPPED: [],
};

/** Legal job transitions. A restart takes a FAILED or CANCELLED job back to RUNNING. */
const JOB_TRANSITIONS: Record<State, readonly State[]> = {
  SUBMITTED: ['PENDING', 'RUNNABLE', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  PENDING: ['RUNNABLE', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  RUNNABLE: ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  STARTING: ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: ['RUNNING'],
  CANCELLED: ['RUNNING'],
  SKIPPED: [],
};

export type Entity = 'job' | 'execution';

export class IllegalTransitionError extends Error {
  constructor(
    readonly entity: Entity,
    readonly id: string,
    readonly from: State,
    readonly to: State,
  ) {
    super(`illegal ${entity} transition ${from} → ${to} (${id})`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(entity: Entity, from: State, to: State): boolean {
  const table = entity === 'job' ? JOB_TRANSITIONS : EXECUTION_TRANSITIONS;
  return table[from].includes(to);
}

export function assertTransition(entity: Entity, id: string, from: State, to: State): void {
  if (!canTransition(entity, from, to)) throw new IllegalTransitionError(entity, id, from, to);
}

/** States a row may be in for a move to `to` to be legal: the guard of a state write. */
export function sourcesOf(entity: Entity, to: State): State[] {
  const table = entity === 'job' ? JOB_TRANSITIONS : EXECUTION_TRANSITIONS;
  return STATES.filter((from) => table[from].includes(to));
}
