/**
 * Standard 5-field cron expressions (minute hour day-of-month month day-of-week), as Tork accepts
 * them: `*`, lists `a,b`, ranges `a-b`, steps `*\/n` and `a/n` / `a-b/n`, month and weekday names.
 * 6- and 7-field forms and anything else are refused. Times are UTC.
 */

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface Cron {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Whether day-of-month / day-of-week were restricted (cron ORs them when both are). */
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

export class CronError extends Error {}

export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronError(`invalid cron expression "${source}": expected 5 fields (minute hour day month weekday), got ${parts.length}`);
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i], source));
  const weekdays = sets[4];
  if (weekdays.has(7)) {
    weekdays.delete(7);
    weekdays.add(0);
  }
  return {
    source,
    minutes: sets[0],
    hours: sets[1],
    days: sets[2],
    months: sets[3],
    weekdays,
    daysRestricted: parts[2] !== '*' && parts[2] !== '?',
    weekdaysRestricted: parts[4] !== '*' && parts[4] !== '?',
  };
}

function parseField(text: string, field: Field, source: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [rangeText, stepText, extra] = item.split('/');
    if (extra !== undefined || rangeText === '') throw bad(source, field, item);
    const step = stepText === undefined ? 1 : toInt(stepText, field, source);
    if (step < 1) throw bad(source, field, item);
    let low: number;
    let high: number;
    if (rangeText === '*' || rangeText === '?') {
      low = field.min;
      high = field.name === 'day of week' ? 6 : field.max;
    } else if (rangeText.includes('-')) {
      const [a, b] = rangeText.split('-');
      low = toValue(a, field, source);
      high = toValue(b, field, source);
    } else {
      low = toValue(rangeText, field, source);
      high = stepText === undefined ? low : field.max;
    }
    if (low > high) throw bad(source, field, item);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function toValue(text: string, field: Field, source: string): number {
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const value = index >= 0 ? index + field.min : toInt(text, field, source);
  if (value < field.min || value > field.max) throw bad(source, field, text);
  return value;
}

function toInt(text: string, field: Field, source: string): number {
  if (!/^\d+$/.test(text)) throw bad(source, field, text);
  return Number(text);
}

function bad(source: string, field: Field, part: string): CronError {
  return new CronError(`invalid cron expression "${source}": bad ${field.name} "${part}"`);
}

/** The first firing strictly after `after` (UTC), searching up to five years ahead. */
export function nextFiring(cron: Cron, after: Date): Date {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = after.getTime() + 5 * 366 * 24 * 3600 * 1000;
  while (t.getTime() <= limit) {
    if (!cron.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0);
      continue;
    }
    if (!dayMatches(cron, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0);
      continue;
    }
    if (!cron.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0);
      continue;
    }
    if (!cron.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      continue;
    }
    return t;
  }
  throw new CronError(`cron expression "${cron.source}" never fires`);
}

function dayMatches(cron: Cron, t: Date): boolean {
  const day = cron.days.has(t.getUTCDate());
  const weekday = cron.weekdays.has(t.getUTCDay());
  if (cron.daysRestricted && cron.weekdaysRestricted) return day || weekday;
  return day && weekday;
}
