/** PostgreSQL statements for what executions leave behind: log chunks, events and artifact rows. */
import type { ArtifactRow, EventRow, LogLine } from '../../core/model.js';
import { ARTIFACTS, EVENTS, type RawRow } from '../shared/codec.js';
import { chunksToAppend, executionIdsOf, listJobLines, listLines, type ChunkRow, type LogChunkQueries } from '../shared/logs.js';
import { Params, type PgExec, insertMany, insertManyBatches, whereSql } from './connection.js';

/** A chunk for an execution that no longer exists (a late batch after the job was deleted) is dropped. */
const LOG_CHUNK_INSERT = `
  INSERT INTO log_chunks (execution_id, first_number, last_number, line_count, first_at, bytes, body)
  SELECT r.execution_id, r.first_number, r.last_number, r.line_count, r.first_at, r.bytes, r.body
  FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, first_number integer, last_number integer,
       line_count integer, first_at timestamptz, bytes bigint, body text)
  WHERE EXISTS (SELECT 1 FROM executions AS e WHERE e.id = r.execution_id)
  ON CONFLICT (execution_id, first_number) DO NOTHING`;
const LOG_STORED_UP_TO = `
  SELECT execution_id, max(last_number) AS n FROM log_chunks WHERE execution_id = ANY($1::text[]) GROUP BY execution_id`;
const LOG_CHUNKS_AFTER = `
  SELECT execution_id, first_number, first_at, body FROM log_chunks
  WHERE execution_id = $1 AND last_number > $2 ORDER BY first_number LIMIT $3`;
const LOG_JOB_CHUNK_META = `
  SELECT c.execution_id, c.first_number, c.line_count FROM log_chunks AS c JOIN executions AS e ON e.id = c.execution_id
  WHERE e.job_id = $1 ORDER BY c.first_at, e.seq, c.first_number`;
const LOG_CHUNKS_BY_KEY = `
  SELECT c.execution_id, c.first_number, c.first_at, c.body
  FROM unnest($1::text[], $2::int[]) AS k(execution_id, first_number)
  JOIN log_chunks AS c ON c.execution_id = k.execution_id AND c.first_number = k.first_number`;
const LOG_SIZE_EXECUTION = `SELECT coalesce(sum(line_count), 0) AS lines, coalesce(sum(bytes), 0) AS bytes FROM log_chunks WHERE execution_id = $1`;
const LOG_SIZE_JOB = `
  SELECT coalesce(sum(line_count), 0) AS lines, coalesce(sum(bytes), 0) AS bytes FROM log_chunks
  WHERE execution_id IN (SELECT id FROM executions WHERE job_id = $1)`;

const EVENT_LIST = `SELECT * FROM events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3`;

/** Re-collecting an execution's outputs replaces its rows rather than failing. */
const ARTIFACT_UPSERT_MANY = `
  INSERT INTO artifacts (execution_id, job_id, path, size, created_at)
  SELECT r.execution_id, r.job_id, r.path, r.size, r.created_at
  FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, job_id text, path text, size bigint, created_at timestamptz)
  ON CONFLICT (execution_id, path) DO UPDATE
  SET job_id = excluded.job_id, size = excluded.size, created_at = excluded.created_at`;

/** Idempotent: lines already stored (a batch retried after a lost reply) are left out. */
export async function logAppendMany(x: PgExec, lines: LogLine[]): Promise<void> {
  const upTo = await x.all(LOG_STORED_UP_TO, [executionIdsOf(lines)]);
  const chunks = chunksToAppend(lines, new Map(upTo.map((row) => [row.execution_id as string, Number(row.n)])));
  // A few megabytes per statement at most.
  for (let start = 0; start < chunks.length; start += 16) {
    const part = chunks.slice(start, start + 16).map((k) => ({
      execution_id: k.executionId,
      first_number: k.firstNumber,
      last_number: k.lastNumber,
      line_count: k.lineCount,
      first_at: k.firstAt,
      bytes: k.bytes,
      body: k.body,
    }));
    await x.run(LOG_CHUNK_INSERT, [JSON.stringify(part)]);
  }
}

/** The chunk queries of shared/logs.ts on this executor. */
export function logChunkQueries(x: PgExec): LogChunkQueries {
  return {
    chunksAfter: async (executionId, afterNumber, limit) => (await x.all(LOG_CHUNKS_AFTER, [executionId, afterNumber, limit])).map(chunkRow),
    jobChunkMeta: async (jobId) =>
      (await x.all(LOG_JOB_CHUNK_META, [jobId])).map((row) => ({
        executionId: row.execution_id as string,
        firstNumber: Number(row.first_number),
        lineCount: Number(row.line_count),
      })),
    chunksByKey: async (keys) =>
      (await x.all(LOG_CHUNKS_BY_KEY, [keys.map((k) => k.executionId), keys.map((k) => k.firstNumber)])).map(chunkRow),
  };
}

function chunkRow(row: RawRow): ChunkRow {
  return { executionId: row.execution_id as string, firstNumber: Number(row.first_number), firstAt: row.first_at as string, body: row.body as string };
}

export function logList(x: PgExec, params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]> {
  return listLines(logChunkQueries(x), params);
}

export function logListByJob(x: PgExec, params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]> {
  return listJobLines(logChunkQueries(x), params);
}

/** Lines and stored bytes (chunk bodies and their overhead) of one execution or a whole job. */
export async function logSize(x: PgExec, params: { executionId?: string; jobId?: string }): Promise<{ lines: number; bytes: number }> {
  const row =
    params.executionId !== undefined ? await x.get(LOG_SIZE_EXECUTION, [params.executionId]) : await x.get(LOG_SIZE_JOB, [params.jobId ?? '']);
  return { lines: Number(row?.lines ?? 0), bytes: Number(row?.bytes ?? 0) };
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
