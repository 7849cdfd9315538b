/** SQL text pieces both dialects build the same way. */
import type { State } from '../../core/model.js';
import type { RawRow } from './codec.js';

export function whereSql(clauses: readonly string[]): string {
  return clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
}

/** `state, n` rows as a count per state. */
export function countsByState(rows: readonly RawRow[]): Partial<Record<State, number>> {
  const counts: Partial<Record<State, number>> = {};
  for (const row of rows) counts[row.state as State] = Number(row.n);
  return counts;
}

/** `job_id, state, n` rows as counts per state, per job. */
export function countsByJobAndState(rows: readonly RawRow[]): Record<string, Partial<Record<State, number>>> {
  const counts: Record<string, Partial<Record<State, number>>> = {};
  for (const row of rows) (counts[row.job_id as string] ??= {})[row.state as State] = Number(row.n);
  return counts;
}

/**
 * The id range `[prefix, prefix + 'g')` holding exactly the hex ids that start with `prefix`
 * ('g' sorts after every hex digit in any collation), so a primary-key index answers it.
 */
export function idPrefixRange(prefix: string): [low: string, high: string] {
  return [prefix, `${prefix}g`];
}

/** A job the user owns or that is shared with them; `user` is the placeholder of the user's name. */
export function visibleToSql(user: string): string {
  return `(owner = ${user} OR id IN (SELECT job_id FROM job_shares WHERE user_name = ${user}))`;
}
