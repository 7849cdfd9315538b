/** PostgreSQL statements for cron schedules. */
import type { ScheduleRow } from '../../core/model.js';
import { SCHEDULES } from '../shared/codec.js';
import { Params, type PgExec, insertOneSql, insertValues, whereSql } from './connection.js';

const SCHEDULE_GET = `SELECT * FROM schedules WHERE id = $1`;
const SCHEDULE_SET_STATE = `UPDATE schedules SET state = $1 WHERE id = $2 AND state = $3`;
const SCHEDULE_DELETE = `DELETE FROM schedules WHERE id = $1`;
const SCHEDULE_LIST_DUE = `
  SELECT * FROM schedules WHERE state = 'ACTIVE' AND next_at <= $1::timestamptz ORDER BY next_at, seq LIMIT $2`;
/** Compare-and-set: only the server that read `expectedNextAt` moves it, so each tick fires once. */
const SCHEDULE_ADVANCE = `
  UPDATE schedules SET next_at = $1::timestamptz, last_fired_at = $2::timestamptz
  WHERE id = $3 AND next_at = $4::timestamptz`;

export async function scheduleInsert(x: PgExec, schedule: ScheduleRow): Promise<void> {
  await x.run(insertOneSql(SCHEDULES), insertValues(SCHEDULES, schedule));
}

export function scheduleGet(x: PgExec, id: string): Promise<ScheduleRow | undefined> {
  return x.row(SCHEDULES, SCHEDULE_GET, [id]);
}

/** Newest first. */
export function scheduleList(x: PgExec, params: { owner?: string; limit: number; offset?: number }): Promise<ScheduleRow[]> {
  const p = new Params();
  const clauses = params.owner === undefined ? [] : [`owner = ${p.add(params.owner)}`];
  const sql = `SELECT * FROM schedules ${whereSql(clauses)} ORDER BY seq DESC LIMIT ${p.add(params.limit)} OFFSET ${p.add(params.offset ?? 0)}`;
  return x.rows(SCHEDULES, sql, p.values);
}

export function scheduleCount(x: PgExec, params: { owner?: string }): Promise<number> {
  const p = new Params();
  const clauses = params.owner === undefined ? [] : [`owner = ${p.add(params.owner)}`];
  return x.number(`SELECT count(*) FROM schedules ${whereSql(clauses)}`, p.values);
}

export async function scheduleSetState(
  x: PgExec,
  params: { id: string; from: ScheduleRow['state']; to: ScheduleRow['state'] },
): Promise<boolean> {
  return (await x.run(SCHEDULE_SET_STATE, [params.to, params.id, params.from])) > 0;
}

export async function scheduleDelete(x: PgExec, id: string): Promise<boolean> {
  return (await x.run(SCHEDULE_DELETE, [id])) > 0;
}

export function scheduleListDue(x: PgExec, params: { now: string; limit: number }): Promise<ScheduleRow[]> {
  return x.rows(SCHEDULES, SCHEDULE_LIST_DUE, [params.now, params.limit]);
}

export async function scheduleAdvance(
  x: PgExec,
  params: { id: string; expectedNextAt: string; nextAt: string; firedAt: string },
): Promise<boolean> {
  return (await x.run(SCHEDULE_ADVANCE, [params.nextAt, params.firedAt, params.id, params.expectedNextAt])) > 0;
}
