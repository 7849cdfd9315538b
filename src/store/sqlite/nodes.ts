/** SQLite statements for nodes (heartbeats) and leadership (one reaper, one cron scheduler). */
import type { NodeRow } from '../../core/model.js';
import { NODES, encodeSqliteRow, insertColumns } from '../shared/codec.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

/** A heartbeat rewrites every field but the id. */
const NODE_UPSERT = `${insertSql(NODES)}
  ON CONFLICT (id) DO UPDATE SET ${insertColumns(NODES)
    .filter((c) => c.column !== 'id')
    .map((c) => `${c.column} = excluded.${c.column}`)
    .join(', ')}`;
const NODE_GET = `SELECT * FROM nodes WHERE id = ?`;
const NODE_LIST = `SELECT * FROM nodes ORDER BY started_at, id`;
const NODE_LIST_HEARD_AFTER = `SELECT * FROM nodes WHERE last_heartbeat_at > ? ORDER BY started_at, id`;
const NODE_MARK_DOWN = `
  UPDATE nodes SET status = 'DOWN' WHERE status = 'UP' AND last_heartbeat_at < ? RETURNING id`;

/**
 * Insert, or take over a lease that ran out, or renew one's own; RETURNING yields a row only when
 * one of those happened, so an empty result means someone else holds it.
 */
const LEADER_ACQUIRE = `
  INSERT INTO leaders (name, holder, until) VALUES (?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
  WHERE leaders.until < ? OR leaders.holder = excluded.holder
  RETURNING holder`;

export function nodeUpsert(c: SqliteConnection, node: NodeRow): void {
  c.run(NODE_UPSERT, encodeSqliteRow(NODES, node));
}

export function nodeGet(c: SqliteConnection, id: string): NodeRow | undefined {
  return c.row(NODES, NODE_GET, [id]);
}

export function nodeList(c: SqliteConnection, params: { heartbeatAfter?: string }): NodeRow[] {
  if (params.heartbeatAfter === undefined) return c.rows(NODES, NODE_LIST);
  return c.rows(NODES, NODE_LIST_HEARD_AFTER, [params.heartbeatAfter]);
}

export function nodeMarkDown(c: SqliteConnection, params: { silentSince: string }): string[] {
  return c.all(NODE_MARK_DOWN, [params.silentSince]).map((row) => row.id as string);
}

export function leaderAcquire(c: SqliteConnection, params: { name: string; holder: string; now: string; until: string }): boolean {
  const rows = c.all(LEADER_ACQUIRE, [params.name, params.holder, params.until, params.now]);
  return rows.length > 0;
}
