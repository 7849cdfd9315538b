import { describe, expect, it } from 'vitest';
import { CronError, nextFiring, parseCron } from '../../src/core/cron.js';

const at = (iso: string): Date => new Date(iso);

describe('cron', () => {
  it('accepts the 5-field forms Tork documents', () => {
    for (const source of ['0 0 * * *', '0/10 0 * * *', '0/5 * * * *', '*/15 9-17 * * MON-FRI', '30 4 1,15 * *', '0 12 * JAN sun']) {
      expect(() => parseCron(source)).not.toThrow();
    }
  });

  it('refuses junk, empty, 6- and 7-field expressions', () => {
    for (const source of ['invalid-cron', '', '0 0 * * * *', '0 0 * * * * *', '60 * * * *', '* 24 * * *', '5-1 * * * *', '*/0 * * * *']) {
      expect(() => parseCron(source)).toThrow(CronError);
    }
  });

  it('finds the next firing', () => {
    expect(nextFiring(parseCron('0 0 * * *'), at('2026-11-22T07:40:00Z')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(nextFiring(parseCron('*/5 * * * *'), at('2026-11-22T07:41:10Z')).toISOString()).toBe('2026-11-22T07:45:00.000Z');
    expect(nextFiring(parseCron('* * * * *'), at('2026-11-22T07:41:00Z')).toISOString()).toBe('2026-11-22T07:42:00.000Z');
    expect(nextFiring(parseCron('0 9 * * MON'), at('2026-11-22T10:00:00Z')).toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(nextFiring(parseCron('0 0 29 2 *'), at('2026-03-01T00:00:00Z')).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('ORs day of month and day of week when both are restricted', () => {
    // 2026-11-22 is a Sunday: "the 1st, or any Monday" next fires Monday the 23rd.
    expect(nextFiring(parseCron('0 0 1 * 1'), at('2026-11-22T12:00:00Z')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
  });
});
