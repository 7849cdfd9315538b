/** SQLite statements for jobs and tasks. Lists are bound as JSON text and opened with json_each. */
import { stateIn } from './executions.js';
import type { JobRow, State, TaskRow } from '../../core/model.js';
import { ACTIVE_STATES } from '../../core/states.js';
import type { IdPrefixParams, JobDeleteLimits, JobFilter, JobListParams, JobPatch, StateWrite } from '../store.js';
import { idPrefixRange, visibleToSql } from '../shared/clauses.js';
import { JOBS, TASKS, encodeSqliteRow, encodeSqliteValue, patchEntries } from '../shared/codec.js';
import { fts5AllWords, searchWords } from '../shared/search.js';
import type { Bind, SqliteConnection } from './connection.js';
import { countsByState, guardedUpdate, insertSql, whereSql } from './sql.js';

const JOB_GET = `SELECT * FROM jobs WHERE id = ?`;
/** Top-level executions only: children of a composite settle before it does (or are cancelled with it). */
const JOB_LIST_STRANDED = `
  SELECT j.id FROM jobs AS j
  WHERE j.${stateIn(ACTIVE_STATES)} AND (? IS NULL OR j.id IN (SELECT value FROM json_each(?)))
    AND EXISTS (SELECT 1 FROM executions AS e WHERE e.job_id = j.id AND e.parent_id IS NULL)
    AND NOT EXISTS (
      SELECT 1 FROM executions AS e
      WHERE e.job_id = j.id AND e.parent_id IS NULL AND e.${stateIn(ACTIVE_STATES)})
  ORDER BY j.seq LIMIT ?`;
const JOB_DELETE_PICK_EXECUTIONS = `SELECT id FROM executions WHERE job_id = ? ORDER BY seq LIMIT ?`;
const JOB_DELETE_LOG_CHUNKS = `
  DELETE FROM log_chunks WHERE rowid IN (
    SELECT rowid FROM log_chunks WHERE execution_id IN (SELECT value FROM json_each(?)) LIMIT ?)`;
const JOB_DELETE_OF_EXECUTIONS = [
  `DELETE FROM array_items WHERE execution_id IN (SELECT value FROM json_each(?))`,
  `DELETE FROM artifacts WHERE execution_id IN (SELECT value FROM json_each(?))`,
  `DELETE FROM executions WHERE id IN (SELECT value FROM json_each(?))`,
];
const JOB_DELETE_EVENTS = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE job_id = ? ORDER BY id LIMIT ?)`;
const JOB_DELETE_ARTIFACTS = `DELETE FROM artifacts WHERE job_id = ?`;
const JOB_DELETE_TASKS = `DELETE FROM tasks WHERE job_id = ?`;
const JOB_DELETE = `DELETE FROM jobs WHERE id = ?`;
/** From the few jobs that are sub-jobs to their parent execution: never a scan of a big job's executions. */
const JOB_LIST_SUBJOBS = `
  SELECT j.* FROM jobs AS j JOIN executions AS e ON e.id = j.parent_execution_id
  WHERE j.parent_execution_id IS NOT NULL AND e.job_id = ? ORDER BY j.seq`;
const JOB_LIST_BY_PARENT_EXECUTION = `
  SELECT * FROM jobs WHERE parent_execution_id IN (SELECT value FROM json_each(?)) ORDER BY seq`;
const JOB_METADATA = `SELECT metadata FROM jobs WHERE id = ?`;

const TASK_LIST = `SELECT * FROM tasks WHERE job_id = ? ORDER BY position`;
const TASK_GET = `SELECT * FROM tasks WHERE id = ?`;
const TASK_RESET = `UPDATE tasks SET state = 'PENDING' WHERE id IN (SELECT value FROM json_each(?))`;

export function jobInsert(c: SqliteConnection, job: JobRow): void {
  c.run(insertSql(JOBS), encodeSqliteRow(JOBS, job));
}

export function jobGet(c: SqliteConnection, id: string): JobRow | undefined {
  return c.row(JOBS, JOB_GET, [id]);
}

/** Exported for the test that checks its plan is a primary-key range search. */
export const idsByPrefixSql = (table: IdPrefixParams['table']) => `SELECT id FROM ${table} WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`;

export function idsByPrefix(c: SqliteConnection, params: IdPrefixParams): string[] {
  return c.all(idsByPrefixSql(params.table), [...idPrefixRange(params.prefix), params.limit]).map((row) => row.id as string);
}

export function jobListStranded(c: SqliteConnection, params: { limit: number; ids?: string[] }): string[] {
  const ids = params.ids ? JSON.stringify(params.ids) : null;
  return c.all(JOB_LIST_STRANDED, [...ACTIVE_STATES, ids, ids, ...ACTIVE_STATES, params.limit]).map((row) => row.id as string);
}

/** Newest first (seq DESC); `beforeId` pages by cursor, `offset` by position. */
export function jobList(c: SqliteConnection, params: JobListParams): JobRow[] {
  const where = jobWhere(params);
  if (params.beforeId !== undefined) {
    where.clauses.push('seq < (SELECT seq FROM jobs WHERE id = ?)');
    where.bind.push(params.beforeId);
  }
  const sql = `SELECT * FROM jobs ${whereSql(where.clauses)} ORDER BY seq DESC LIMIT ? OFFSET ?`;
  return c.rows(JOBS, sql, [...where.bind, params.limit, params.offset ?? 0]);
}

export function jobCount(c: SqliteConnection, filter: JobFilter): number {
  const where = jobWhere(filter);
  return c.number(`SELECT count(*) FROM jobs ${whereSql(where.clauses)}`, where.bind);
}

export function jobCountByState(c: SqliteConnection, filter: JobFilter): Partial<Record<State, number>> {
  const where = jobWhere(filter);
  const sql = `SELECT state, count(*) AS n FROM jobs ${whereSql(where.clauses)} GROUP BY state`;
  return countsByState(c.all(sql, where.bind));
}

export function jobSetState(c: SqliteConnection, write: StateWrite<JobPatch>): boolean {
  return guardedUpdate(c, JOBS, write).length > 0;
}

/** Field update without a state guard; `metadata` is merged shallowly (given keys replace, others stay). */
export function jobUpdate(c: SqliteConnection, params: { id: string; patch: JobPatch; metadata?: JobRow['metadata'] }): void {
  const sets = patchEntries(JOBS, params.patch).map(({ column, value }) => ({
    sql: `${column.column} = ?`,
    value: encodeSqliteValue(column.kind, value),
  }));
  if (params.metadata) {
    const current = c.get(JOB_METADATA, [params.id]);
    if (!current) return;
    const merged = { ...(JSON.parse(current.metadata as string) as JobRow['metadata']), ...params.metadata };
    sets.push({ sql: 'metadata = ?', value: JSON.stringify(merged) });
  }
  if (sets.length === 0) return;
  c.run(`UPDATE jobs SET ${sets.map((s) => s.sql).join(', ')} WHERE id = ?`, [...sets.map((s) => s.value), params.id]);
}

export function jobSetVar(c: SqliteConnection, params: { id: string; name: string; value: string }): void {
  c.run('UPDATE jobs SET vars = json_set(vars, ?, ?) WHERE id = ?', [jsonPathOfKey(params.name), params.value, params.id]);
}

/** A JSON path naming one object key, quoted so dots or brackets in the key are not path syntax. */
function jsonPathOfKey(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/** A bounded part of a job (see Store.jobDeleteSome): executions with what they left, then events, then the rest. */
export function jobDeleteSome(c: SqliteConnection, params: JobDeleteLimits & { id: string }): 'more' | 'deleted' | 'missing' {
  const picked = c.all(JOB_DELETE_PICK_EXECUTIONS, [params.id, params.executions]).map((row) => row.id as string);
  if (picked.length > 0) {
    const ids = JSON.stringify(picked);
    // Their logs first, a bounded number of chunks at a time: the executions go once those are gone.
    if (c.run(JOB_DELETE_LOG_CHUNKS, [ids, params.logChunks]) >= params.logChunks) return 'more';
    for (const sql of JOB_DELETE_OF_EXECUTIONS) c.run(sql, [ids]);
    return 'more';
  }
  if (c.run(JOB_DELETE_EVENTS, [params.id, params.events]) > 0) return 'more';
  c.run(JOB_DELETE_ARTIFACTS, [params.id]);
  c.run(JOB_DELETE_TASKS, [params.id]);
  return c.run(JOB_DELETE, [params.id]) > 0 ? 'deleted' : 'missing';
}

export function jobListSubjobs(c: SqliteConnection, jobId: string): JobRow[] {
  return c.rows(JOBS, JOB_LIST_SUBJOBS, [jobId]);
}

const JOB_LIST_EXPIRED = `
  SELECT id FROM jobs
  WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND json_extract(metadata, '$.deleteAt') <= ?
  ORDER BY seq LIMIT ?`;

export function jobListExpired(c: SqliteConnection, params: { now: string; limit: number }): string[] {
  return c.all(JOB_LIST_EXPIRED, [params.now, params.limit]).map((row) => row.id as string);
}

export function jobListByParentExecution(c: SqliteConnection, executionIds: string[]): JobRow[] {
  if (executionIds.length === 0) return [];
  return c.rows(JOBS, JOB_LIST_BY_PARENT_EXECUTION, [JSON.stringify(executionIds)]);
}

export function taskInsertMany(c: SqliteConnection, tasks: TaskRow[]): void {
  const sql = insertSql(TASKS);
  for (const task of tasks) c.run(sql, encodeSqliteRow(TASKS, task));
}

export function taskList(c: SqliteConnection, jobId: string): TaskRow[] {
  return c.rows(TASKS, TASK_LIST, [jobId]);
}

export function taskGet(c: SqliteConnection, id: string): TaskRow | undefined {
  return c.row(TASKS, TASK_GET, [id]);
}

export function taskSetState(c: SqliteConnection, write: StateWrite<never>): boolean {
  return guardedUpdate(c, TASKS, write).length > 0;
}

export function taskReset(c: SqliteConnection, ids: string[]): void {
  if (ids.length > 0) c.run(TASK_RESET, [JSON.stringify(ids)]);
}

interface Where {
  clauses: string[];
  bind: Bind;
}

/**
 * The WHERE clauses of a job filter. Empty lists do not filter. `createdAfter` is inclusive and
 * `createdBefore` exclusive, so consecutive windows never count a job twice.
 */
/** Own or shared jobs: the name is bound twice (`?` is positional). */
const VISIBLE_TO = visibleToSql('?');

function jobWhere(filter: JobFilter): Where {
  const where: Where = { clauses: [], bind: [] };
  const add = (clause: string, ...values: unknown[]) => {
    where.clauses.push(clause);
    where.bind.push(...values);
  };
  if (filter.owner !== undefined) add('owner = ?', filter.owner);
  if (filter.visibleTo !== undefined) add(VISIBLE_TO, filter.visibleTo, filter.visibleTo);
  if (filter.states?.length) add(stateIn(filter.states), ...filter.states);
  if (filter.tags?.length) {
    add(
      'EXISTS (SELECT 1 FROM json_each(jobs.tags) AS tag WHERE tag.value IN (SELECT value FROM json_each(?)))',
      JSON.stringify(filter.tags),
    );
  }
  if (filter.queue !== undefined) add('queue = ?', filter.queue);
  if (filter.origin !== undefined) add('origin = ?', filter.origin);
  if (filter.createdAfter !== undefined) add('created_at >= ?', filter.createdAfter);
  if (filter.createdBefore !== undefined) add('created_at < ?', filter.createdBefore);
  const words = searchWords(filter.q);
  if (words.length > 0) add('seq IN (SELECT rowid FROM jobs_search WHERE jobs_search MATCH ?)', fts5AllWords(words));
  if (filter.includeSubjobs === false) add('parent_execution_id IS NULL');
  return where;
}
