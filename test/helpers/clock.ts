/** A clock the test moves by hand, for engine services that take a `Clock`. */
import type { Clock } from '../../src/engine/clock.js';

export class ManualClock implements Clock {
  private at: number;

  constructor(start = '2026-11-22T10:00:00.000Z') {
    this.at = Date.parse(start);
  }

  now(): Date {
    return new Date(this.at);
  }

  advance(ms: number): void {
    this.at += ms;
  }
}
