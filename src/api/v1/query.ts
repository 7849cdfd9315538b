/**
 * Query parameters that need more than a schema: state lists, opaque cursors and wait durations.
 * Each failure is a ValidationError naming the parameter.
 */
import { parseDuration } from '../../core/duration.js';
import { STATES, type State } from '../../core/states.js';
import { isId } from '../../engine/ids.js';
import { invalid } from '../errors.js';

/** `RUNNING,failed` → ['RUNNING', 'FAILED']; an unknown name is a 400 that names it. */
export function parseStates(value: string | undefined, parameter = 'state'): State[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const states: State[] = [];
  for (const part of value.split(',')) {
    const name = part.trim().toUpperCase();
    if (!(STATES as readonly string[]).includes(name)) {
      throw invalid(parameter, `unknown state "${part.trim()}"; one of ${STATES.join(', ')}`);
    }
    if (!states.includes(name as State)) states.push(name as State);
  }
  return states;
}

export function parseList(value: string | undefined): string[] | undefined {
  const items = (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/*
 * Cursors are opaque to clients (base64url JSON) so the paging key can change without breaking
 * them. Each names its list, so a jobs cursor handed to an executions list is refused, not
 * misread.
 */
interface JobCursor {
  list: 'jobs';
  beforeId: string;
}

interface ExecutionCursor {
  list: 'executions';
  afterSeq: number;
}

export function encodeJobCursor(beforeId: string): string {
  return encode({ list: 'jobs', beforeId } satisfies JobCursor);
}

export function encodeExecutionCursor(afterSeq: number): string {
  return encode({ list: 'executions', afterSeq } satisfies ExecutionCursor);
}

export function decodeJobCursor(cursor: string): string {
  const value = decode(cursor);
  if (value?.list !== 'jobs' || typeof value.beforeId !== 'string' || !isId(value.beforeId)) throw badCursor();
  return value.beforeId;
}

export function decodeExecutionCursor(cursor: string): number {
  const value = decode(cursor);
  if (value?.list !== 'executions' || !Number.isSafeInteger(value.afterSeq) || (value.afterSeq as number) < 0) {
    throw badCursor();
  }
  return value.afterSeq as number;
}

function encode(value: JobCursor | ExecutionCursor): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode(cursor: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function badCursor(): Error {
  return invalid('cursor', 'not a cursor of this list; pass nextCursor from the previous page unchanged');
}

/** `?wait=` may hold a request open this long at most. */
export const MAX_WAIT_MS = 10 * 60_000;

/** `30s` → 30000; junk, zero or more than MAX_WAIT_MS is a 400 naming `wait`. */
export function parseWait(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw invalid('wait', `not a duration: "${value}" (write e.g. 30s, 2m, 1m30s)`);
  }
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_WAIT_MS) {
    throw invalid('wait', `must be more than 0 and at most ${MAX_WAIT_MS / 60_000}m`);
  }
  return ms;
}

/** The longest lifetime a credential or JWT may be given: ten years. */
const MAX_LIFETIME_MS = 10 * 365 * 86_400_000;

/** A lifetime such as `24h`, `90m` or `30d` (Go durations plus whole days), in milliseconds. */
export function parseLifetime(field: string, value: string): number {
  const days = /^(\d+)d$/.exec(value.trim());
  let ms: number;
  try {
    ms = days ? Number(days[1]) * 86_400_000 : parseDuration(value.trim());
  } catch {
    throw invalid(field, `not a lifetime: "${value}" (write e.g. 24h, 90m, 30d)`);
  }
  if (!Number.isFinite(ms) || ms < 1000 || ms > MAX_LIFETIME_MS) throw invalid(field, 'must be at least 1s and at most 3650d');
  return ms;
}
