import { describe, expect, it } from 'vitest';
import {
  ACTIVE_STATES,
  FINAL_STATES,
  IllegalTransitionError,
  STATES,
  assertTransition,
  canTransition,
  sourcesOf,
} from '../../src/core/states.js';

describe('state transitions', () => {
  it('follows the diagram SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → final', () => {
    const path = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED'] as const;
    for (let i = 1; i < path.length; i += 1) expect(canTransition('execution', path[i - 1], path[i])).toBe(true);
  });

  it('never leaves a final execution state', () => {
    for (const from of FINAL_STATES) {
      for (const to of STATES) expect(canTransition('execution', from, to)).toBe(false);
    }
  });

  it('lets only restart take a FAILED or CANCELLED job back to RUNNING', () => {
    expect(canTransition('job', 'FAILED', 'RUNNING')).toBe(true);
    expect(canTransition('job', 'CANCELLED', 'RUNNING')).toBe(true);
    expect(canTransition('job', 'SUCCEEDED', 'RUNNING')).toBe(false);
    expect(canTransition('job', 'FAILED', 'SUCCEEDED')).toBe(false);
  });

  it('can cancel anything active', () => {
    for (const from of ACTIVE_STATES) expect(canTransition('execution', from, 'CANCELLED')).toBe(true);
  });

  it('throws on an illegal transition, naming it', () => {
    expect(() => assertTransition('execution', 'abc', 'SUCCEEDED', 'RUNNING')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('execution', 'abc', 'SUCCEEDED', 'RUNNING')).toThrow(/SUCCEEDED → RUNNING \(abc\)/);
    expect(() => assertTransition('execution', 'abc', 'RUNNABLE', 'RUNNING')).toThrow(IllegalTransitionError);
  });

  it('derives the guard of a write from the table', () => {
    expect(sourcesOf('execution', 'STARTING')).toEqual(['RUNNABLE']);
    expect(sourcesOf('execution', 'RUNNING').sort()).toEqual(['PENDING', 'STARTING', 'SUBMITTED']);
  });
});
