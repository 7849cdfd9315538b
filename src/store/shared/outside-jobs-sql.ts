/**
 * SQL for outside jobs (jobs run elsewhere and recorded here): the same text in both dialects,
 * written with `?` placeholders (PostgreSQL numbers them). `external_id` and `submitted_at` are
 * compared as text (PostgreSQL: byte order, COLLATE "C" in the schema, as SQLite compares).
 */
import type { EventRow } from '../../core/model.js';
import { EVENTS, type Table } from './codec.js';

export const OUTSIDE_JOB_GET = `SELECT * FROM outside_jobs WHERE origin = ? AND external_id = ?`;
export const OUTSIDE_JOB_UPDATE = `
  UPDATE outside_jobs SET status = ?, cluster = ?, submitted_at = ?, record = ? WHERE origin = ? AND external_id = ?`;

/** `where` narrows by status and cluster when given (exact matches); values in `outsideFilter`'s order. */
export function outsideJobWhere(filter: { status?: string; cluster?: string }): string {
  return [
    'origin = ?',
    ...(filter.status !== undefined ? ['status = ?'] : []),
    ...(filter.cluster !== undefined ? ['cluster = ?'] : []),
  ].join(' AND ');
}

export function outsideFilter(filter: { origin: string; status?: string; cluster?: string }): unknown[] {
  return [filter.origin, ...(filter.status !== undefined ? [filter.status] : []), ...(filter.cluster !== undefined ? [filter.cluster] : [])];
}

export function outsideJobListSql(filter: { status?: string; cluster?: string }): string {
  return `SELECT * FROM outside_jobs WHERE ${outsideJobWhere(filter)} ORDER BY submitted_at DESC, external_id DESC LIMIT ? OFFSET ?`;
}

export function outsideJobCountSql(filter: { status?: string; cluster?: string }): string {
  return `SELECT count(*) AS n FROM outside_jobs WHERE ${outsideJobWhere(filter)}`;
}

/** An event of an outside job, with the job's outside id. */
export type OutsideEventRow = EventRow & { externalId: string };

export const OUTSIDE_EVENTS: Table<OutsideEventRow> = {
  name: 'events',
  columns: [...(EVENTS.columns as Table<OutsideEventRow>['columns']), { field: 'externalId', column: 'external_id', kind: 'text' }],
};

/** Events of one kind of an origin's outside jobs (of one of them, when `externalId` is given), oldest first. */
export function outsideEventListSql(byJob: boolean): string {
  return `
  SELECT e.*, o.external_id FROM events AS e JOIN outside_jobs AS o ON o.job_id = e.job_id
  WHERE o.origin = ? AND e.kind = ? AND e.id > ?${byJob ? ' AND o.external_id = ?' : ''}
  ORDER BY e.id LIMIT ?`;
}
