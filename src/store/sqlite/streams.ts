/** SQLite statements for what executions leave behind: log chunks, events and artifact rows. */
import type { ArtifactRow, EventRow, LogLine } from '../../core/model.js';
import { ARTIFACTS, EVENTS, encodeSqliteRow, type RawRow } from '../shared/codec.js';
import { chunksToAppend, executionIdsOf, type ChunkMeta, type ChunkRow } from '../shared/logs.js';
import type { Bind, SqliteConnection } from './connection.js';
import { insertSql, whereSql } from './sql.js';

/** A chunk for an execution that no longer exists (a late batch after the job was deleted) is dropped. */
const LOG_CHUNK_INSERT = `
  INSERT OR IGNORE INTO log_chunks (execution_id, first_number, last_number, line_count, first_at, bytes, body)
  SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?)`;
const LOG_STORED_UP_TO = `
  SELECT execution_id, max(last_number) AS n FROM log_chunks
  WHERE execution_id IN (SELECT value FROM json_each(?)) GROUP BY execution_id`;
const LOG_CHUNKS_AFTER = `
  SELECT execution_id, first_number, first_at, body FROM log_chunks
  WHERE execution_id = ? AND last_number > ? ORDER BY first_number LIMIT ?`;
const LOG_JOB_CHUNK_META = `
  SELECT c.execution_id, c.first_number, c.line_count FROM log_chunks AS c JOIN executions AS e ON e.id = c.execution_id
  WHERE e.job_id = ? ORDER BY c.first_at, e.seq, c.first_number`;
const LOG_CHUNKS_BY_KEY = `
  SELECT execution_id, first_number, first_at, body FROM log_chunks
  WHERE (execution_id, first_number) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`;
const LOG_COUNT_EXECUTION = `SELECT coalesce(sum(line_count), 0), coalesce(sum(bytes), 0) FROM log_chunks WHERE execution_id = ?`;
const LOG_COUNT_JOB = `
  SELECT coalesce(sum(line_count), 0), coalesce(sum(bytes), 0) FROM log_chunks
  WHERE execution_id IN (SELECT id FROM executions WHERE job_id = ?)`;

const EVENT_LIST = `SELECT * FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?`;

/** Re-collecting an execution's outputs replaces its rows rather than failing. */
const ARTIFACT_UPSERT = `
  INSERT INTO artifacts (execution_id, job_id, path, size, created_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (execution_id, path) DO UPDATE
  SET job_id = excluded.job_id, size = excluded.size, created_at = excluded.created_at`;

/** Idempotent: lines already stored (a batch retried after a lost reply) are left out. */
export function logAppendMany(c: SqliteConnection, lines: LogLine[]): void {
  const upTo = c.all(LOG_STORED_UP_TO, [JSON.stringify(executionIdsOf(lines))]);
  const chunks = chunksToAppend(lines, new Map(upTo.map((row) => [row.execution_id as string, Number(row.n)])));
  for (const k of chunks) {
    c.run(LOG_CHUNK_INSERT, [k.executionId, k.firstNumber, k.lastNumber, k.lineCount, k.firstAt, k.bytes, k.body, k.executionId]);
  }
}

export function logChunksAfter(c: SqliteConnection, executionId: string, afterNumber: number, limit: number): ChunkRow[] {
  return c.all(LOG_CHUNKS_AFTER, [executionId, afterNumber, limit]).map(chunkRow);
}

export function logJobChunkMeta(c: SqliteConnection, jobId: string): ChunkMeta[] {
  return c.all(LOG_JOB_CHUNK_META, [jobId]).map((row) => ({
    executionId: row.execution_id as string,
    firstNumber: Number(row.first_number),
    lineCount: Number(row.line_count),
  }));
}

export function logChunksByKey(c: SqliteConnection, keys: ChunkMeta[]): ChunkRow[] {
  return c.all(LOG_CHUNKS_BY_KEY, [JSON.stringify(keys.map((k) => [k.executionId, k.firstNumber]))]).map(chunkRow);
}

function chunkRow(row: RawRow): ChunkRow {
  return { executionId: row.execution_id as string, firstNumber: Number(row.first_number), firstAt: row.first_at as string, body: row.body as string };
}

/** Lines and stored bytes (chunk bodies and their overhead) of one execution or a whole job. */
export function logCount(c: SqliteConnection, params: { executionId?: string; jobId?: string }): { lines: number; bytes: number } {
  const raw =
    params.executionId !== undefined ? c.get(LOG_COUNT_EXECUTION, [params.executionId]) : c.get(LOG_COUNT_JOB, [params.jobId ?? '']);
  const [lines, bytes] = Object.values(raw ?? {});
  return { lines: Number(lines ?? 0), bytes: Number(bytes ?? 0) };
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
