/** PostgreSQL statements for what executions leave behind: log lines, events and artifact rows. */
import type { ArtifactRow, EventRow, LogLine } from '../../core/model.js';
import { ARTIFACTS, EVENTS, LOG_LINES } from '../shared/codec.js';
import { likeContaining } from '../shared/search.js';
import { sanitizeLogText } from '../../core/text.js';
import { Params, type PgExec, insertMany, insertManyBatches, whereSql } from './connection.js';

/**
 * Idempotent: a batch retried after a lost reply keeps the lines already written (same number).
 * A line for an execution that no longer exists (a late batch after the job was deleted) is dropped.
 */
const LOG_APPEND_MANY = `
  INSERT INTO log_lines (execution_id, number, stream, at, line)
  SELECT r.execution_id, r.number, r.stream, r.at, r.line
  FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, number integer, stream text, at timestamptz, line text)
  WHERE EXISTS (SELECT 1 FROM executions AS e WHERE e.id = r.execution_id)
  ON CONFLICT (execution_id, number) DO NOTHING`;
const LOG_LIST = `
  SELECT * FROM log_lines WHERE execution_id = $1 AND number > $2 ORDER BY number LIMIT $3`;

const EVENT_LIST = `SELECT * FROM events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3`;

/** Re-collecting an execution's outputs replaces its rows rather than failing. */
const ARTIFACT_UPSERT_MANY = `
  INSERT INTO artifacts (execution_id, job_id, path, size, created_at)
  SELECT r.execution_id, r.job_id, r.path, r.size, r.created_at
  FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, job_id text, path text, size bigint, created_at timestamptz)
  ON CONFLICT (execution_id, path) DO UPDATE
  SET job_id = excluded.job_id, size = excluded.size, created_at = excluded.created_at`;

export async function logAppendMany(x: PgExec, lines: LogLine[]): Promise<void> {
  const clean = lines.map((l) => ({ ...l, line: sanitizeLogText(l.line) }));
  for (const batch of insertManyBatches(LOG_LINES, clean)) await x.run(LOG_APPEND_MANY, [batch]);
}

export function logList(x: PgExec, params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]> {
  return x.rows(LOG_LINES, LOG_LIST, [params.executionId, params.afterNumber ?? 0, params.limit]);
}

/** Every execution's lines of a job, oldest first (time, then execution, then line number). */
export function logListByJob(x: PgExec, params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]> {
  const p = new Params();
  const clauses = [`e.job_id = ${p.add(params.jobId)}`];
  if (params.q) clauses.push(`l.line ILIKE ${p.add(likeContaining(params.q))} ESCAPE '\\'`);
  const sql = `
    SELECT l.* FROM log_lines AS l JOIN executions AS e ON e.id = l.execution_id
    ${whereSql(clauses)}
    ORDER BY l.at, e.seq, l.number LIMIT ${p.add(params.limit)} OFFSET ${p.add(params.offset ?? 0)}`;
  return x.rows(LOG_LINES, sql, p.values);
}

export function logCount(x: PgExec, params: { executionId?: string; jobId?: string }): Promise<number> {
  const p = new Params();
  const clauses: string[] = [];
  if (params.executionId !== undefined) clauses.push(`l.execution_id = ${p.add(params.executionId)}`);
  if (params.jobId !== undefined) clauses.push(`l.execution_id IN (SELECT id FROM executions WHERE job_id = ${p.add(params.jobId)})`);
  return x.number(`SELECT count(*) FROM log_lines AS l ${whereSql(clauses)}`, p.values);
}

export async function eventInsertMany(x: PgExec, events: EventRow[]): Promise<void> {
  await insertMany(x, EVENTS, events);
}

export function eventList(x: PgExec, params: { jobId: string; afterId?: number; limit: number }): Promise<EventRow[]> {
  return x.rows(EVENTS, EVENT_LIST, [params.jobId, params.afterId ?? 0, params.limit]);
}

/** One statement may not update a row twice, so a path repeated in the batch keeps its last entry. */
export async function artifactInsertMany(x: PgExec, rows: ArtifactRow[]): Promise<void> {
  const unique = [...new Map(rows.map((row) => [`${row.executionId}\u0000${row.path}`, row])).values()];
  for (const batch of insertManyBatches(ARTIFACTS, unique)) await x.run(ARTIFACT_UPSERT_MANY, [batch]);
}

export function artifactList(x: PgExec, params: { jobId?: string; executionId?: string }): Promise<ArtifactRow[]> {
  const p = new Params();
  const clauses: string[] = [];
  if (params.jobId !== undefined) clauses.push(`job_id = ${p.add(params.jobId)}`);
  if (params.executionId !== undefined) clauses.push(`execution_id = ${p.add(params.executionId)}`);
  return x.rows(ARTIFACTS, `SELECT * FROM artifacts ${whereSql(clauses)} ORDER BY execution_id, path`, p.values);
}
