/** PostgreSQL statements for nodes (heartbeats) and leadership (one reaper, one cron scheduler). */
import type { NodeRow } from '../../core/model.js';
import { NODES, insertColumns } from '../shared/codec.js';
import { type PgExec, insertOneSql, insertValues } from './connection.js';

/** A heartbeat rewrites every field but the id. */
const NODE_UPSERT = `${insertOneSql(NODES)}
  ON CONFLICT (id) DO UPDATE SET ${insertColumns(NODES)
    .filter((c) => c.column !== 'id')
    .map((c) => `${c.column} = excluded.${c.column}`)
    .join(', ')}`;
const NODE_GET = `SELECT * FROM nodes WHERE id = $1`;
const NODE_LIST = `SELECT * FROM nodes ORDER BY started_at, id`;
const NODE_LIST_HEARD_AFTER = `SELECT * FROM nodes WHERE last_heartbeat_at > $1::timestamptz ORDER BY started_at, id`;
const NODE_MARK_DOWN = `
  UPDATE nodes SET status = 'DOWN' WHERE status = 'UP' AND last_heartbeat_at < $1::timestamptz RETURNING id`;

/**
 * Insert, or take over a lease that ran out, or renew one's own; RETURNING yields a row only when
 * one of those happened, so an empty result means someone else holds it. INSERT … ON CONFLICT is
 * atomic under concurrency: of many candidates at once, exactly one wins.
 */
const LEADER_ACQUIRE = `
  INSERT INTO leaders (name, holder, until) VALUES ($1, $2, $3::timestamptz)
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
  WHERE leaders.until < $4::timestamptz OR leaders.holder = excluded.holder
  RETURNING holder`;

export async function nodeUpsert(x: PgExec, node: NodeRow): Promise<void> {
  await x.run(NODE_UPSERT, insertValues(NODES, node));
}

export function nodeGet(x: PgExec, id: string): Promise<NodeRow | undefined> {
  return x.row(NODES, NODE_GET, [id]);
}

export function nodeList(x: PgExec, params: { heartbeatAfter?: string }): Promise<NodeRow[]> {
  if (params.heartbeatAfter === undefined) return x.rows(NODES, NODE_LIST);
  return x.rows(NODES, NODE_LIST_HEARD_AFTER, [params.heartbeatAfter]);
}

export async function nodeMarkDown(x: PgExec, params: { silentSince: string }): Promise<string[]> {
  return (await x.all(NODE_MARK_DOWN, [params.silentSince])).map((row) => row.id as string);
}

export async function leaderAcquire(x: PgExec, params: { name: string; holder: string; now: string; until: string }): Promise<boolean> {
  const rows = await x.all(LEADER_ACQUIRE, [params.name, params.holder, params.until, params.now]);
  return rows.length > 0;
}
