/**
 * barge's states in AWS Batch's words (sliderule-runner.md §7). The vocabularies are the same
 * but for the two states AWS lacks: a cancelled element is FAILED with `Canceled by user`, and a
 * skipped one (never for SlideRule's own jobs, whose items have no `if`) is FAILED too.
 */
import type { State } from '../../../core/model.js';

export const AWS_STATES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type AwsState = (typeof AWS_STATES)[number];

/** What cancel-all counts as active. */
export const ACTIVE_AWS_STATES: readonly AwsState[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];

export const CANCELED_BY_USER = 'Canceled by user';

const AWS_OF: Record<State, AwsState> = {
  SUBMITTED: 'SUBMITTED',
  PENDING: 'PENDING',
  RUNNABLE: 'RUNNABLE',
  STARTING: 'STARTING',
  RUNNING: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  CANCELLED: 'FAILED',
  SKIPPED: 'FAILED',
};

export function awsState(state: State): AwsState {
  return AWS_OF[state];
}

export function isAwsState(value: unknown): value is AwsState {
  return typeof value === 'string' && (AWS_STATES as readonly string[]).includes(value);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as the runner formats `createdAt`. */
export function awsTime(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19).replace('T', ' ');
}
