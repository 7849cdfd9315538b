/** PostgreSQL statements for outside jobs (run elsewhere, recorded here); SQL shared with SQLite. */
import type { OutsideJobRow } from '../../core/model.js';
import { OUTSIDE_JOBS } from '../shared/codec.js';
import * as sql from '../shared/outside-jobs-sql.js';
import type { OutsideEventRow } from '../shared/outside-jobs-sql.js';
import type { OutsideJobFilter, OutsideJobKey } from '../store.js';
import { type PgExec, encodePgValue, insertOneSql, insertValues } from './connection.js';
import { numbered } from './users.js';

/**
 * Writers of one outside id take turns until commit: the advisory lock holds even while no row
 * exists yet (two first POSTs of a job), the row lock is not needed beyond it.
 */
const OUTSIDE_JOB_ADVISORY_LOCK = `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))`;

export async function outsideJobLock(x: PgExec, key: OutsideJobKey): Promise<OutsideJobRow | undefined> {
  await x.all(OUTSIDE_JOB_ADVISORY_LOCK, [key.origin, key.externalId]);
  return outsideJobGet(x, key);
}

export function outsideJobGet(x: PgExec, key: OutsideJobKey): Promise<OutsideJobRow | undefined> {
  return x.row(OUTSIDE_JOBS, numbered(sql.OUTSIDE_JOB_GET), [key.origin, key.externalId]);
}

export async function outsideJobInsert(x: PgExec, row: OutsideJobRow): Promise<void> {
  await x.run(insertOneSql(OUTSIDE_JOBS), insertValues(OUTSIDE_JOBS, row));
}

export async function outsideJobUpdate(x: PgExec, row: OutsideJobRow): Promise<void> {
  const record = encodePgValue('json', row.record);
  await x.run(numbered(sql.OUTSIDE_JOB_UPDATE), [row.status, row.cluster, row.submittedAt, record, row.origin, row.externalId]);
}

export function outsideJobList(x: PgExec, params: OutsideJobFilter & { limit: number; offset: number }): Promise<OutsideJobRow[]> {
  return x.rows(OUTSIDE_JOBS, numbered(sql.outsideJobListSql(params)), [...sql.outsideFilter(params), params.limit, params.offset]);
}

export function outsideJobCount(x: PgExec, filter: OutsideJobFilter): Promise<number> {
  return x.number(numbered(sql.outsideJobCountSql(filter)), sql.outsideFilter(filter));
}

export function outsideEventList(
  x: PgExec,
  params: { origin: string; kind: string; externalId?: string; afterId: number; limit: number },
): Promise<OutsideEventRow[]> {
  const byJob = params.externalId !== undefined;
  const bind = [params.origin, params.kind, params.afterId, ...(byJob ? [params.externalId] : []), params.limit];
  return x.rows(sql.OUTSIDE_EVENTS, numbered(sql.outsideEventListSql(byJob)), bind);
}
