/** SQLite statements behind the web UI's views: an array's item states, throughput per minute. */
import type { ExecutionRow, State } from '../../core/model.js';
import type { FinishedPerMinute, ItemState, WaitingReason } from '../store.js';
import { WAITING_REASONS } from '../shared/waiting-sql.js';
import { EXECUTIONS } from '../shared/codec.js';
import type { SqliteConnection } from './connection.js';

/** Served by executions_by_parent (parent_id, idx); only two columns per item are read. */
const ITEM_STATES = `SELECT idx, state FROM executions WHERE parent_id = ? ORDER BY idx, seq`;
const ITEM_LATEST = `SELECT * FROM executions WHERE parent_id = ? AND idx = ? ORDER BY seq DESC LIMIT 1`;
/** Served by executions_by_completed (migration 14). Composites are not work done on a node. */
const FINISHED_PER_MINUTE = `
  SELECT queue, substr(completed_at, 1, 16) || ':00.000Z' AS minute, count(*) AS n FROM executions
  WHERE completed_at >= ? AND kind NOT IN ('each', 'parallel', 'subjob')
  GROUP BY queue, minute ORDER BY minute, queue`;

export function executionItemStates(c: SqliteConnection, params: { parentId: string }): ItemState[] {
  return c.all(ITEM_STATES, [params.parentId]).map((row) => ({ idx: Number(row.idx), state: row.state as State }));
}

export function executionItemLatest(c: SqliteConnection, params: { parentId: string; idx: number }): ExecutionRow | undefined {
  return c.row(EXECUTIONS, ITEM_LATEST, [params.parentId, params.idx]);
}

export function executionFinishedPerMinute(c: SqliteConnection, params: { since: string }): FinishedPerMinute[] {
  return c.all(FINISHED_PER_MINUTE, [params.since]).map((row) => ({
    queue: row.queue as string,
    minute: row.minute as string,
    count: Number(row.n),
  }));
}

export function executionWaitingReasons(c: SqliteConnection, params: { limit: number }): WaitingReason[] {
  return c.all(WAITING_REASONS, [params.limit]).map((row) => ({ reason: row.reason as string, count: Number(row.n) }));
}
