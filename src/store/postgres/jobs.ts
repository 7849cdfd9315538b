/** PostgreSQL statements for jobs and tasks. Lists are bound as text[] and matched with ANY. */
import type { JobRow, State, TaskRow } from '../../core/model.js';
import { ACTIVE_STATES } from '../../core/states.js';
import type { IdPrefixParams, JobDeleteLimits, JobFilter, JobListParams, JobPatch, StateWrite } from '../store.js';
import { idPrefixRange, visibleToSql } from '../shared/clauses.js';
import { JOBS, TASKS, patchEntries } from '../shared/codec.js';
import { searchWords } from '../shared/search.js';
import {
  Params,
  type PgExec,
  countsByState,
  guardedUpdate,
  insertMany,
  insertOneSql,
  insertValues,
  typedParam,
  whereSql,
} from './connection.js';

const JOB_GET = `SELECT * FROM jobs WHERE id = $1`;
const JOB_LOCK = { update: `${JOB_GET} FOR NO KEY UPDATE`, share: `${JOB_GET} FOR SHARE` } as const;
/** Top-level executions only: children of a composite settle before it does (or are cancelled with it). */
const JOB_LIST_STRANDED = `
  SELECT j.id FROM jobs AS j
  WHERE j.state = ANY($1::text[]) AND ($2::text[] IS NULL OR j.id = ANY($2::text[]))
    AND EXISTS (SELECT 1 FROM executions AS e WHERE e.job_id = j.id AND e.parent_id IS NULL)
    AND NOT EXISTS (
      SELECT 1 FROM executions AS e
      WHERE e.job_id = j.id AND e.parent_id IS NULL AND e.state = ANY($1::text[]))
  ORDER BY j.seq LIMIT $3`;
const JOB_DELETE_PICK_EXECUTIONS = `SELECT id FROM executions WHERE job_id = $1 ORDER BY seq LIMIT $2`;
const JOB_DELETE_LOG_CHUNKS = `
  DELETE FROM log_chunks WHERE (execution_id, first_number) IN (
    SELECT execution_id, first_number FROM log_chunks WHERE execution_id = ANY($1::text[]) LIMIT $2)`;
const JOB_DELETE_OF_EXECUTIONS = [
  `DELETE FROM array_items WHERE execution_id = ANY($1::text[])`,
  `DELETE FROM artifacts WHERE execution_id = ANY($1::text[])`,
  `DELETE FROM executions WHERE id = ANY($1::text[])`,
];
const JOB_DELETE_EVENTS = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE job_id = $1 ORDER BY id LIMIT $2)`;
const JOB_DELETE_ARTIFACTS = `DELETE FROM artifacts WHERE job_id = $1`;
const JOB_DELETE_TASKS = `DELETE FROM tasks WHERE job_id = $1`;
const JOB_DELETE = `DELETE FROM jobs WHERE id = $1`;
/** From the few jobs that are sub-jobs to their parent execution: never a scan of a big job's executions. */
const JOB_LIST_SUBJOBS = `
  SELECT j.* FROM jobs AS j JOIN executions AS e ON e.id = j.parent_execution_id
  WHERE j.parent_execution_id IS NOT NULL AND e.job_id = $1 ORDER BY j.seq`;
const JOB_LIST_BY_PARENT_EXECUTION = `
  SELECT * FROM jobs WHERE parent_execution_id = ANY($1::text[]) ORDER BY seq`;

const TASK_LIST = `SELECT * FROM tasks WHERE job_id = $1 ORDER BY position`;
const TASK_GET = `SELECT * FROM tasks WHERE id = $1`;
const TASK_RESET = `UPDATE tasks SET state = 'PENDING' WHERE id = ANY($1::text[])`;

export async function jobInsert(x: PgExec, job: JobRow): Promise<void> {
  await x.run(insertOneSql(JOBS), insertValues(JOBS, job));
}

export function jobGet(x: PgExec, id: string): Promise<JobRow | undefined> {
  return x.row(JOBS, JOB_GET, [id]);
}

/** Exported for the test that checks its plan is a primary-key range search. */
export const idsByPrefixSql = (table: IdPrefixParams['table']) => `SELECT id FROM ${table} WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3`;

export async function idsByPrefix(x: PgExec, params: IdPrefixParams): Promise<string[]> {
  const rows = await x.all(idsByPrefixSql(params.table), [...idPrefixRange(params.prefix), params.limit]);
  return rows.map((row) => row.id as string);
}

export function jobLock(x: PgExec, params: { id: string; mode: 'update' | 'share' }): Promise<JobRow | undefined> {
  return x.row(JOBS, JOB_LOCK[params.mode], [params.id]);
}

export async function jobListStranded(x: PgExec, params: { limit: number; ids?: string[] }): Promise<string[]> {
  const rows = await x.all(JOB_LIST_STRANDED, [ACTIVE_STATES, params.ids ?? null, params.limit]);
  return rows.map((row) => row.id as string);
}

/** Newest first (seq DESC); `beforeId` pages by cursor, `offset` by position. */
export function jobList(x: PgExec, params: JobListParams): Promise<JobRow[]> {
  const p = new Params();
  const clauses = jobWhere(params, p);
  if (params.beforeId !== undefined) clauses.push(`seq < (SELECT seq FROM jobs WHERE id = ${p.add(params.beforeId)})`);
  const sql = `SELECT * FROM jobs ${whereSql(clauses)} ORDER BY seq DESC LIMIT ${p.add(params.limit)} OFFSET ${p.add(params.offset ?? 0)}`;
  return x.rows(JOBS, sql, p.values);
}

export function jobCount(x: PgExec, filter: JobFilter): Promise<number> {
  const p = new Params();
  return x.number(`SELECT count(*) FROM jobs ${whereSql(jobWhere(filter, p))}`, p.values);
}

export async function jobCountByState(x: PgExec, filter: JobFilter): Promise<Partial<Record<State, number>>> {
  const p = new Params();
  const sql = `SELECT state, count(*) AS n FROM jobs ${whereSql(jobWhere(filter, p))} GROUP BY state`;
  return countsByState(await x.all(sql, p.values));
}

export async function jobSetState(x: PgExec, write: StateWrite<JobPatch>): Promise<boolean> {
  return (await guardedUpdate(x, JOBS, write)).length > 0;
}

export async function jobSetVar(x: PgExec, params: { id: string; name: string; value: string }): Promise<void> {
  await x.run('UPDATE jobs SET vars = vars || jsonb_build_object($2::text, $3::text) WHERE id = $1', [params.id, params.name, params.value]);
}

/** Field update without a state guard; `metadata` is merged shallowly (given keys replace, others stay). */
export async function jobUpdate(
  x: PgExec,
  params: { id: string; patch: JobPatch; metadata?: JobRow['metadata'] },
): Promise<void> {
  const p = new Params();
  const sets = patchEntries(JOBS, params.patch).map(({ column, value }) => `${column.column} = ${typedParam(p, column.kind, value)}`);
  if (params.metadata) sets.push(`metadata = metadata || ${typedParam(p, 'json', params.metadata)}`);
  if (sets.length === 0) return;
  await x.run(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ${p.add(params.id)}`, p.values);
}

/** The job with its tasks, executions, log lines, events and artifact rows. Sub-jobs are the engine's. */
/** A bounded part of a job (see Store.jobDeleteSome): executions with what they left, then events, then the rest. */
export async function jobDeleteSome(x: PgExec, params: JobDeleteLimits & { id: string }): Promise<'more' | 'deleted' | 'missing'> {
  const picked = (await x.all(JOB_DELETE_PICK_EXECUTIONS, [params.id, params.executions])).map((row) => row.id as string);
  if (picked.length > 0) {
    // Their logs first, a bounded number of chunks at a time: the executions go once those are gone.
    if ((await x.run(JOB_DELETE_LOG_CHUNKS, [picked, params.logChunks])) >= params.logChunks) return 'more';
    for (const sql of JOB_DELETE_OF_EXECUTIONS) await x.run(sql, [picked]);
    return 'more';
  }
  if ((await x.run(JOB_DELETE_EVENTS, [params.id, params.events])) > 0) return 'more';
  await x.run(JOB_DELETE_ARTIFACTS, [params.id]);
  await x.run(JOB_DELETE_TASKS, [params.id]);
  return (await x.run(JOB_DELETE, [params.id])) > 0 ? 'deleted' : 'missing';
}

export function jobListSubjobs(x: PgExec, jobId: string): Promise<JobRow[]> {
  return x.rows(JOBS, JOB_LIST_SUBJOBS, [jobId]);
}

const JOB_LIST_EXPIRED = `
  SELECT id FROM jobs
  WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND metadata->>'deleteAt' <= $1
  ORDER BY seq LIMIT $2`;

export async function jobListExpired(x: PgExec, params: { now: string; limit: number }): Promise<string[]> {
  return (await x.all(JOB_LIST_EXPIRED, [params.now, params.limit])).map((row) => row.id as string);
}

export async function jobListByParentExecution(x: PgExec, executionIds: string[]): Promise<JobRow[]> {
  if (executionIds.length === 0) return [];
  return x.rows(JOBS, JOB_LIST_BY_PARENT_EXECUTION, [executionIds]);
}

export async function taskInsertMany(x: PgExec, tasks: TaskRow[]): Promise<void> {
  await insertMany(x, TASKS, tasks);
}

export function taskList(x: PgExec, jobId: string): Promise<TaskRow[]> {
  return x.rows(TASKS, TASK_LIST, [jobId]);
}

export function taskGet(x: PgExec, id: string): Promise<TaskRow | undefined> {
  return x.row(TASKS, TASK_GET, [id]);
}

export async function taskSetState(x: PgExec, write: StateWrite<never>): Promise<boolean> {
  return (await guardedUpdate(x, TASKS, write)).length > 0;
}

export async function taskReset(x: PgExec, ids: string[]): Promise<void> {
  if (ids.length > 0) await x.run(TASK_RESET, [ids]);
}

/**
 * The WHERE clauses of a job filter. Empty lists do not filter. `createdAfter` is inclusive and
 * `createdBefore` exclusive, so consecutive windows never count a job twice.
 */
function jobWhere(filter: JobFilter, p: Params): string[] {
  const clauses: string[] = [];
  if (filter.owner !== undefined) clauses.push(`owner = ${p.add(filter.owner)}`);
  if (filter.visibleTo !== undefined) clauses.push(visibleToSql(p.add(filter.visibleTo)));
  if (filter.states?.length) clauses.push(`state = ANY(${p.add(filter.states)}::text[])`);
  if (filter.tags?.length) clauses.push(`tags ?| ${p.add(filter.tags)}::text[]`);
  if (filter.queue !== undefined) clauses.push(`queue = ${p.add(filter.queue)}`);
  if (filter.origin !== undefined) clauses.push(`origin = ${p.add(filter.origin)}`);
  if (filter.createdAfter !== undefined) clauses.push(`created_at >= ${p.add(filter.createdAfter)}::timestamptz`);
  if (filter.createdBefore !== undefined) clauses.push(`created_at < ${p.add(filter.createdBefore)}::timestamptz`);
  const words = searchWords(filter.q);
  if (words.length > 0) clauses.push(`search @@ plainto_tsquery('english', ${p.add(words.join(' '))})`);
  if (filter.includeSubjobs === false) clauses.push('parent_execution_id IS NULL');
  return clauses;
}
