/** SQLite statements for cron schedules. */
import type { ScheduleRow } from '../../core/model.js';
import { SCHEDULES, encodeSqliteRow } from '../shared/codec.js';
import type { Bind, SqliteConnection } from './connection.js';
import { insertSql, whereSql } from './sql.js';

const SCHEDULE_GET = `SELECT * FROM schedules WHERE id = ?`;
const SCHEDULE_SET_STATE = `UPDATE schedules SET state = ? WHERE id = ? AND state = ?`;
const SCHEDULE_DELETE = `DELETE FROM schedules WHERE id = ?`;
const SCHEDULE_LIST_DUE = `
  SELECT * FROM schedules WHERE state = 'ACTIVE' AND next_at <= ? ORDER BY next_at, seq LIMIT ?`;
/** Compare-and-set: only the server that read `expectedNextAt` moves it, so each tick fires once. */
const SCHEDULE_ADVANCE = `
  UPDATE schedules SET next_at = ?, last_fired_at = ? WHERE id = ? AND next_at = ?`;

export function scheduleInsert(c: SqliteConnection, schedule: ScheduleRow): void {
  c.run(insertSql(SCHEDULES), encodeSqliteRow(SCHEDULES, schedule));
}

export function scheduleGet(c: SqliteConnection, id: string): ScheduleRow | undefined {
  return c.row(SCHEDULES, SCHEDULE_GET, [id]);
}

/** Newest first. */
export function scheduleList(c: SqliteConnection, params: { owner?: string; limit: number; offset?: number }): ScheduleRow[] {
  const { clauses, bind } = ownerWhere(params.owner);
  const sql = `SELECT * FROM schedules ${whereSql(clauses)} ORDER BY seq DESC LIMIT ? OFFSET ?`;
  return c.rows(SCHEDULES, sql, [...bind, params.limit, params.offset ?? 0]);
}

export function scheduleCount(c: SqliteConnection, params: { owner?: string }): number {
  const { clauses, bind } = ownerWhere(params.owner);
  return c.number(`SELECT count(*) FROM schedules ${whereSql(clauses)}`, bind);
}

export function scheduleSetState(
  c: SqliteConnection,
  params: { id: string; from: ScheduleRow['state']; to: ScheduleRow['state'] },
): boolean {
  return c.run(SCHEDULE_SET_STATE, [params.to, params.id, params.from]) > 0;
}

export function scheduleDelete(c: SqliteConnection, id: string): boolean {
  return c.run(SCHEDULE_DELETE, [id]) > 0;
}

export function scheduleListDue(c: SqliteConnection, params: { now: string; limit: number }): ScheduleRow[] {
  return c.rows(SCHEDULES, SCHEDULE_LIST_DUE, [params.now, params.limit]);
}

export function scheduleAdvance(
  c: SqliteConnection,
  params: { id: string; expectedNextAt: string; nextAt: string; firedAt: string },
): boolean {
  return c.run(SCHEDULE_ADVANCE, [params.nextAt, params.firedAt, params.id, params.expectedNextAt]) > 0;
}

function ownerWhere(owner: string | undefined): { clauses: string[]; bind: Bind } {
  return owner === undefined ? { clauses: [], bind: [] } : { clauses: ['owner = ?'], bind: [owner] };
}
