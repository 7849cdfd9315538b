/** SQLite statements for what executions leave behind: log lines, events and artifact rows. */
import type { ArtifactRow, EventRow, LogLine } from '../../core/model.js';
import { ARTIFACTS, EVENTS, LOG_LINES, encodeSqliteRow } from '../shared/codec.js';
import { likeContaining } from '../shared/search.js';
import { sanitizeLogText } from '../../core/text.js';
import type { Bind, SqliteConnection } from './connection.js';
import { insertSql, whereSql } from './sql.js';

/**
 * Idempotent: a batch retried after a lost reply keeps the lines already written (same number).
 * A line for an execution that no longer exists (a late batch after the job was deleted) is dropped.
 */
const LOG_APPEND = `
  INSERT OR IGNORE INTO log_lines (execution_id, number, stream, at, line)
  SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?)`;
const LOG_LIST = `
  SELECT * FROM log_lines WHERE execution_id = ? AND number > ? ORDER BY number LIMIT ?`;

const EVENT_LIST = `SELECT * FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?`;

/** Re-collecting an execution's outputs replaces its rows rather than failing. */
const ARTIFACT_UPSERT = `
  INSERT INTO artifacts (execution_id, job_id, path, size, created_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (execution_id, path) DO UPDATE
  SET job_id = excluded.job_id, size = excluded.size, created_at = excluded.created_at`;

export function logAppendMany(c: SqliteConnection, lines: LogLine[]): void {
  for (const l of lines) c.run(LOG_APPEND, [l.executionId, l.number, l.stream, l.at, sanitizeLogText(l.line), l.executionId]);
}

export function logList(c: SqliteConnection, params: { executionId: string; afterNumber?: number; limit: number }): LogLine[] {
  return c.rows(LOG_LINES, LOG_LIST, [params.executionId, params.afterNumber ?? 0, params.limit]);
}

/** Every execution's lines of a job, oldest first (time, then execution, then line number). */
export function logListByJob(
  c: SqliteConnection,
  params: { jobId: string; limit: number; offset?: number; q?: string },
): LogLine[] {
  const clauses = ['e.job_id = ?'];
  const bind: Bind = [params.jobId];
  if (params.q) {
    clauses.push(`l.line LIKE ? ESCAPE '\\'`);
    bind.push(likeContaining(params.q));
  }
  const sql = `
    SELECT l.* FROM log_lines AS l JOIN executions AS e ON e.id = l.execution_id
    ${whereSql(clauses)}
    ORDER BY l.at, e.seq, l.number LIMIT ? OFFSET ?`;
  return c.rows(LOG_LINES, sql, [...bind, params.limit, params.offset ?? 0]);
}

export function logCount(c: SqliteConnection, params: { executionId?: string; jobId?: string }): number {
  const clauses: string[] = [];
  const bind: Bind = [];
  if (params.executionId !== undefined) {
    clauses.push('l.execution_id = ?');
    bind.push(params.executionId);
  }
  if (params.jobId !== undefined) {
    clauses.push('l.execution_id IN (SELECT id FROM executions WHERE job_id = ?)');
    bind.push(params.jobId);
  }
  return c.number(`SELECT count(*) FROM log_lines AS l ${whereSql(clauses)}`, bind);
}

export function eventInsertMany(c: SqliteConnection, events: EventRow[]): void {
  const sql = insertSql(EVENTS);
  for (const event of events) c.run(sql, encodeSqliteRow(EVENTS, event));
}

export function eventList(c: SqliteConnection, params: { jobId: string; afterId?: number; limit: number }): EventRow[] {
  return c.rows(EVENTS, EVENT_LIST, [params.jobId, params.afterId ?? 0, params.limit]);
}

export function artifactInsertMany(c: SqliteConnection, rows: ArtifactRow[]): void {
  for (const row of rows) c.run(ARTIFACT_UPSERT, encodeSqliteRow(ARTIFACTS, row));
}

export function artifactList(c: SqliteConnection, params: { jobId?: string; executionId?: string }): ArtifactRow[] {
  const clauses: string[] = [];
  const bind: Bind = [];
  if (params.jobId !== undefined) {
    clauses.push('job_id = ?');
    bind.push(params.jobId);
  }
  if (params.executionId !== undefined) {
    clauses.push('execution_id = ?');
    bind.push(params.executionId);
  }
  return c.rows(ARTIFACTS, `SELECT * FROM artifacts ${whereSql(clauses)} ORDER BY execution_id, path`, bind);
}
