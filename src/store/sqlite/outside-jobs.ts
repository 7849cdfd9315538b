/** SQLite statements for outside jobs (run elsewhere, recorded here); SQL shared with PostgreSQL. */
import type { OutsideJobRow } from '../../core/model.js';
import { OUTSIDE_JOBS, encodeSqliteRow, encodeSqliteValue } from '../shared/codec.js';
import * as sql from '../shared/outside-jobs-sql.js';
import type { OutsideEventRow } from '../shared/outside-jobs-sql.js';
import type { OutsideJobFilter, OutsideJobKey } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

/** SQLite transactions take turns (BEGIN IMMEDIATE): the plain read is already the locked one. */
export function outsideJobGet(c: SqliteConnection, key: OutsideJobKey): OutsideJobRow | undefined {
  return c.row(OUTSIDE_JOBS, sql.OUTSIDE_JOB_GET, [key.origin, key.externalId]);
}

export function outsideJobInsert(c: SqliteConnection, row: OutsideJobRow): void {
  c.run(insertSql(OUTSIDE_JOBS), encodeSqliteRow(OUTSIDE_JOBS, row));
}

export function outsideJobUpdate(c: SqliteConnection, row: OutsideJobRow): void {
  c.run(sql.OUTSIDE_JOB_UPDATE, [row.status, row.cluster, row.submittedAt, encodeSqliteValue('json', row.record), row.origin, row.externalId]);
}

export function outsideJobList(c: SqliteConnection, params: OutsideJobFilter & { limit: number; offset: number }): OutsideJobRow[] {
  return c.rows(OUTSIDE_JOBS, sql.outsideJobListSql(params), [...sql.outsideFilter(params), params.limit, params.offset]);
}

export function outsideJobCount(c: SqliteConnection, filter: OutsideJobFilter): number {
  return c.number(sql.outsideJobCountSql(filter), sql.outsideFilter(filter));
}

export function outsideEventList(
  c: SqliteConnection,
  params: { origin: string; kind: string; externalId?: string; afterId: number; limit: number },
): OutsideEventRow[] {
  const byJob = params.externalId !== undefined;
  const bind = [params.origin, params.kind, params.afterId, ...(byJob ? [params.externalId] : []), params.limit];
  return c.rows(sql.OUTSIDE_EVENTS, sql.outsideEventListSql(byJob), bind);
}
