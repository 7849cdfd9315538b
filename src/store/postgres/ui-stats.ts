/** PostgreSQL statements behind the web UI's views: an array's item states, throughput per minute. */
import type { ExecutionRow, State } from '../../core/model.js';
import type { FinishedPerMinute, ItemState, WaitingReason } from '../store.js';
import { WAITING_REASONS } from '../shared/waiting-sql.js';
import { numbered } from './users.js';
import { EXECUTIONS } from '../shared/codec.js';
import type { PgExec } from './connection.js';

/** Served by executions_by_parent (parent_id, idx); only two columns per item are read. */
const ITEM_STATES = `SELECT idx, state FROM executions WHERE parent_id = $1 ORDER BY idx, seq`;
const ITEM_LATEST = `SELECT * FROM executions WHERE parent_id = $1 AND idx = $2 ORDER BY seq DESC LIMIT 1`;
/** Served by executions_by_completed (migration 14). Composites are not work done on a node. */
const FINISHED_PER_MINUTE = `
  SELECT queue, to_char(date_trunc('minute', completed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI":00.000Z"') AS minute,
         count(*) AS n
  FROM executions
  WHERE completed_at >= $1 AND kind NOT IN ('each', 'parallel', 'subjob')
  GROUP BY queue, minute ORDER BY minute, queue`;

export async function executionItemStates(x: PgExec, params: { parentId: string }): Promise<ItemState[]> {
  return (await x.all(ITEM_STATES, [params.parentId])).map((row) => ({ idx: Number(row.idx), state: row.state as State }));
}

export async function executionItemLatest(x: PgExec, params: { parentId: string; idx: number }): Promise<ExecutionRow | undefined> {
  return x.row(EXECUTIONS, ITEM_LATEST, [params.parentId, params.idx]);
}

export async function executionFinishedPerMinute(x: PgExec, params: { since: string }): Promise<FinishedPerMinute[]> {
  return (await x.all(FINISHED_PER_MINUTE, [params.since])).map((row) => ({
    queue: row.queue as string,
    minute: row.minute as string,
    count: Number(row.n),
  }));
}

export async function executionWaitingReasons(x: PgExec, params: { limit: number }): Promise<WaitingReason[]> {
  return (await x.all(numbered(WAITING_REASONS), [params.limit])).map((row) => ({ reason: row.reason as string, count: Number(row.n) }));
}
