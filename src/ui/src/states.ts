/** The state vocabulary (core/states.ts) as the page draws it: one colour and one letter each. */
import { STATES, type State } from '../../core/states.js';

export { STATES, type State };
export { isFinal } from '../../core/states.js';

export const STATE_COLORS: Record<State, string> = {
  SUBMITTED: '#b8c2cc',
  PENDING: '#d5dce3',
  RUNNABLE: '#8fb8e8',
  STARTING: '#5b9be0',
  RUNNING: '#2466d1',
  SUCCEEDED: '#2e9e5b',
  FAILED: '#d64545',
  CANCELLED: '#e09a2e',
  SKIPPED: '#9aa0a6',
};

/** Colour of an array item not made yet (it waits for a slot, as PENDING). */
export const UNMADE_COLOR = '#eef1f4';
