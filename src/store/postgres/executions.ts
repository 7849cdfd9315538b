/** PostgreSQL statements for executions: inserts, reads, guarded writes, claims, leases, queue stats. */
import type { ExecutionRow, State } from '../../core/model.js';
import { ACTIVE_STATES } from '../../core/states.js';
import type { ActiveListParams, ArrayItemsChunk, ClaimCandidatesParams, ExecutionListParams, ExecutionPatch, StateWrite } from '../store.js';
import { EXECUTIONS } from '../shared/codec.js';
import { countsByJobAndState } from '../shared/clauses.js';
import { itemCountsSql } from '../shared/item-counts.js';
import { Params, type PgExec, countsByState, guardedUpdate, guardedUpdateRows, insertMany, whereSql } from './connection.js';

const EXECUTION_GET = `SELECT * FROM executions WHERE id = $1`;
const EXECUTION_LOCK = { update: `${EXECUTION_GET} FOR NO KEY UPDATE`, share: `${EXECUTION_GET} FOR SHARE` } as const;

/**
 * Each owner's best runnable candidates, locked FOR UPDATE SKIP LOCKED: rows another server is
 * claiming right now are passed over instead of waited for, and the locks last until the caller's
 * claim write commits. The owners come from a loose index scan: a recursive CTE that jumps from
 * one owner to the next through the (state, owner, priority DESC, seq) index, one index probe per
 * owner, instead of reading every runnable row to find the distinct owners (one owner's
 * 100,000-item array would make a GROUP BY or DISTINCT read 100,000 rows per claim). Then, per
 * owner, a LATERAL subquery walks the same index by priority and age, filtering queue, kind and
 * backoff as it goes.
 */
const EXECUTION_CLAIM_CANDIDATES = `
  WITH RECURSIVE owners (owner) AS (
    (SELECT owner FROM executions WHERE state = 'RUNNABLE' ORDER BY owner LIMIT 1)
    UNION ALL
    SELECT (SELECT e.owner FROM executions AS e
            WHERE e.state = 'RUNNABLE' AND e.owner > owners.owner ORDER BY e.owner LIMIT 1)
    FROM owners WHERE owners.owner IS NOT NULL
  )
  SELECT candidate.* FROM owners
  CROSS JOIN LATERAL (
    SELECT * FROM executions AS c
    WHERE c.state = 'RUNNABLE' AND c.owner = owners.owner
      AND c.queue = ANY($1::text[])
      AND c.kind = ANY($2::text[])
      AND (c.not_before IS NULL OR c.not_before <= $3::timestamptz)
      AND ($5::float8 IS NULL OR c.cpus <= $5::float8 + 1e-9)
      AND ($6::bigint IS NULL OR c.memory_mb <= $6::bigint)
    ORDER BY c.priority DESC, c.seq
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ) AS candidate
  WHERE owners.owner IS NOT NULL
  ORDER BY candidate.priority DESC, candidate.seq`;

const EXECUTION_RENEW_LEASES = `
  UPDATE executions SET lease_expires_at = $1::timestamptz
  WHERE node_id = $2 AND id = ANY($3::text[]) AND state IN ('STARTING', 'RUNNING')
  RETURNING id`;

const EXECUTION_LIST_LEASE_EXPIRED = `
  SELECT * FROM executions
  WHERE state IN ('STARTING', 'RUNNING') AND lease_expires_at < $1::timestamptz
  ORDER BY lease_expires_at LIMIT $2`;

const EXECUTION_LIST_PAST_TIMEOUT = `
  SELECT * FROM executions
  WHERE state = 'RUNNING' AND timeout_ms IS NOT NULL AND started_at IS NOT NULL
    AND started_at + (timeout_ms + $2) * interval '1 millisecond' < $1::timestamptz
  ORDER BY seq LIMIT $3`;

const EXECUTION_ADD_CHILD_DONE = `
  UPDATE executions SET child_done = child_done + $1 WHERE id = $2 AND state = 'RUNNING' RETURNING *`;

/** Only work a worker runs counts: a composite is RUNNING while its children run, on no node. */
const QUEUE_STATS = `
  SELECT queue,
         count(*) FILTER (WHERE state = 'RUNNABLE') AS runnable,
         count(*) FILTER (WHERE state IN ('STARTING', 'RUNNING')) AS running
  FROM executions
  WHERE state IN ('RUNNABLE', 'STARTING', 'RUNNING') AND kind IN ('shell', 'lua', 'container')
  GROUP BY queue ORDER BY queue`;

/** A few statements for any number of rows (see insertMany). */
export async function executionInsertMany(x: PgExec, rows: ExecutionRow[]): Promise<void> {
  await insertMany(x, EXECUTIONS, rows);
}

export function executionGet(x: PgExec, id: string): Promise<ExecutionRow | undefined> {
  return x.row(EXECUTIONS, EXECUTION_GET, [id]);
}

/** Oldest first (seq), or by index in the parent's array when `orderByIdx`. */
export function executionList(x: PgExec, params: ExecutionListParams): Promise<ExecutionRow[]> {
  const p = new Params();
  const clauses = executionWhere(params, p);
  if (params.states?.length) clauses.push(`state = ANY(${p.add(params.states)}::text[])`);
  if (params.afterSeq !== undefined) clauses.push(`seq > ${p.add(params.afterSeq)}`);
  const order = params.orderByIdx ? 'idx, seq' : 'seq';
  const sql = `SELECT * FROM executions ${whereSql(clauses)} ORDER BY ${order} LIMIT ${p.add(params.limit)}`;
  return x.rows(EXECUTIONS, sql, p.values);
}

export async function executionCountByState(
  x: PgExec,
  params: { jobId?: string; parentId?: string },
): Promise<Partial<Record<State, number>>> {
  const p = new Params();
  const sql = `SELECT state, count(*) AS n FROM executions ${whereSql(executionWhere(params, p))} GROUP BY state`;
  return countsByState(await x.all(sql, p.values));
}

const EXECUTION_COUNT_BY_JOB_AND_STATE = `
  SELECT job_id, state, count(*) AS n FROM executions WHERE job_id = ANY($1::text[]) GROUP BY job_id, state`;

export async function executionCountByStateMany(
  x: PgExec,
  params: { jobIds: string[] },
): Promise<Record<string, Partial<Record<State, number>>>> {
  if (params.jobIds.length === 0) return {};
  return countsByJobAndState(await x.all(EXECUTION_COUNT_BY_JOB_AND_STATE, [params.jobIds]));
}

const ITEM_COUNTS = itemCountsSql('= ANY($1::text[])');

export async function executionItemCountByStateMany(
  x: PgExec,
  params: { jobIds: string[] },
): Promise<Record<string, Partial<Record<State, number>>>> {
  if (params.jobIds.length === 0) return {};
  return countsByJobAndState(await x.all(ITEM_COUNTS, [params.jobIds]));
}

export async function executionSetState(x: PgExec, write: StateWrite<ExecutionPatch>): Promise<boolean> {
  return (await guardedUpdate(x, EXECUTIONS, write)).length > 0;
}

export async function executionSetStateMany(
  x: PgExec,
  params: { ids: string[]; from: readonly State[]; to: State; patch?: ExecutionPatch },
): Promise<string[]> {
  if (params.ids.length === 0) return [];
  return guardedUpdate(x, EXECUTIONS, params);
}

export function executionListActive(x: PgExec, params: ActiveListParams): Promise<ExecutionRow[]> {
  const p = new Params();
  const clauses = executionWhere(params, p);
  clauses.push(`state = ANY(${p.add(ACTIVE_STATES)}::text[])`);
  if (params.kinds) clauses.push(`kind = ANY(${p.add(params.kinds)}::text[])`);
  const lock = params.skipLocked ? ' FOR NO KEY UPDATE SKIP LOCKED' : '';
  return x.rows(EXECUTIONS, `SELECT * FROM executions ${whereSql(clauses)} ORDER BY seq${lock}`, p.values);
}

export function executionLock(x: PgExec, params: { id: string; mode: 'update' | 'share' }): Promise<ExecutionRow | undefined> {
  return x.row(EXECUTIONS, EXECUTION_LOCK[params.mode], [params.id]);
}

export async function executionAddChildDone(x: PgExec, params: { id: string; by: number }): Promise<ExecutionRow | undefined> {
  return x.row(EXECUTIONS, EXECUTION_ADD_CHILD_DONE, [params.by, params.id]);
}

export async function executionMove(x: PgExec, write: StateWrite<ExecutionPatch>): Promise<ExecutionRow | undefined> {
  return (await guardedUpdateRows(x, EXECUTIONS, write))[0];
}

/**
 * At most `perOwner` RUNNABLE executions per owner, each owner's highest priority then oldest
 * (seq) first, in the given queues and kinds, and not held back by a retry backoff (`notBefore`
 * null or at most `now`). Call it in a transaction: the rows stay locked until it ends.
 */
export async function executionClaimCandidates(x: PgExec, params: ClaimCandidatesParams): Promise<ExecutionRow[]> {
  if (params.queues.length === 0 || params.kinds.length === 0 || params.perOwner <= 0) return [];
  const { fits } = params;
  return x.rows(EXECUTIONS, EXECUTION_CLAIM_CANDIDATES, [
    params.queues,
    params.kinds,
    params.now,
    params.perOwner,
    fits?.cpus ?? null,
    fits?.memoryMb ?? null,
  ]);
}

const EXECUTION_LIST_RUNNABLE_EXCEEDING = `
  SELECT * FROM executions
  WHERE state = 'RUNNABLE' AND kind IN ('shell', 'lua', 'container')
    AND (cpus > $1::float8 + 1e-9 OR memory_mb > $2 OR reason LIKE $3 || '%')
  ORDER BY seq LIMIT $4`;

export function executionListRunnableExceeding(
  x: PgExec,
  params: { cpus: number; memoryMb: number; orReasonPrefix: string; limit: number },
): Promise<ExecutionRow[]> {
  return x.rows(EXECUTIONS, EXECUTION_LIST_RUNNABLE_EXCEEDING, [params.cpus, params.memoryMb, params.orReasonPrefix, params.limit]);
}

/** Extends the leases the node still holds (STARTING/RUNNING and leased to it); returns their ids. */
export async function executionRenewLeases(x: PgExec, params: { nodeId: string; ids: string[]; until: string }): Promise<string[]> {
  if (params.ids.length === 0) return [];
  const rows = await x.all(EXECUTION_RENEW_LEASES, [params.until, params.nodeId, params.ids]);
  return rows.map((row) => row.id as string);
}

export function executionListLeaseExpired(x: PgExec, params: { now: string; limit: number }): Promise<ExecutionRow[]> {
  return x.rows(EXECUTIONS, EXECUTION_LIST_LEASE_EXPIRED, [params.now, params.limit]);
}

export function executionListPastTimeout(
  x: PgExec,
  params: { now: string; graceMs: number; limit: number },
): Promise<ExecutionRow[]> {
  return x.rows(EXECUTIONS, EXECUTION_LIST_PAST_TIMEOUT, [params.now, params.graceMs, params.limit]);
}

/** The row lock of the UPDATE makes concurrent takers (sibling finishes) wait their turn. */
const EXECUTION_TAKE_ITEMS = `
  UPDATE executions AS e SET child_created = LEAST(e.child_count, e.child_created + $2)
  FROM (SELECT id, child_created AS before FROM executions
        WHERE id = $1 AND state = 'RUNNING' AND child_created < child_count FOR UPDATE) AS b
  WHERE e.id = b.id
  RETURNING b.before AS first, e.child_created - b.before AS count`;

export async function executionTakeItems(x: PgExec, params: { id: string; max: number }): Promise<{ first: number; count: number } | undefined> {
  if (params.max <= 0) return undefined;
  const row = await x.get(EXECUTION_TAKE_ITEMS, [params.id, params.max]);
  return row ? { first: Number(row.first), count: Number(row.count) } : undefined;
}

/** Served by the small partial index executions_unmade, not by a walk over a job's executions. */
const EXECUTION_COUNT_UNMADE = `
  SELECT job_id, sum(child_count - child_created) AS n FROM executions
  WHERE job_id = ANY($1::text[]) AND state = 'RUNNING' AND child_created < child_count
  GROUP BY job_id`;

export async function executionCountUnmade(x: PgExec, params: { jobIds: string[] }): Promise<Record<string, number>> {
  if (params.jobIds.length === 0) return {};
  const rows = await x.all(EXECUTION_COUNT_UNMADE, [params.jobIds]);
  return Object.fromEntries(rows.map((row) => [row.job_id as string, Number(row.n)]));
}

const ARRAY_ITEMS_INSERT = `
  INSERT INTO array_items (execution_id, chunk, items)
  SELECT $1, c.chunk, c.items FROM unnest($2::int[], $3::text[]) AS c(chunk, items)
  ON CONFLICT DO NOTHING`;
const ARRAY_ITEMS_GET = `
  SELECT chunk, items FROM array_items WHERE execution_id = $1 AND chunk = ANY($2::int[]) ORDER BY chunk`;
const ARRAY_ITEMS_DELETE = `DELETE FROM array_items WHERE execution_id = $1`;

/** In statements of a bounded size (a million items is a few megabytes of text). */
export async function arrayItemsInsert(x: PgExec, params: { executionId: string; chunks: ArrayItemsChunk[] }): Promise<void> {
  for (let start = 0; start < params.chunks.length; start += 100) {
    const part = params.chunks.slice(start, start + 100);
    await x.run(ARRAY_ITEMS_INSERT, [params.executionId, part.map((c) => c.chunk), part.map((c) => c.items)]);
  }
}

export async function arrayItemsGet(x: PgExec, params: { executionId: string; chunks: number[] }): Promise<ArrayItemsChunk[]> {
  if (params.chunks.length === 0) return [];
  const rows = await x.all(ARRAY_ITEMS_GET, [params.executionId, params.chunks]);
  return rows.map((row) => ({ chunk: Number(row.chunk), items: row.items as string }));
}

export async function arrayItemsDelete(x: PgExec, params: { executionId: string }): Promise<void> {
  await x.run(ARRAY_ITEMS_DELETE, [params.executionId]);
}

export async function queueStats(x: PgExec): Promise<Array<{ queue: string; runnable: number; running: number }>> {
  return (await x.all(QUEUE_STATS)).map((row) => ({
    queue: row.queue as string,
    runnable: Number(row.runnable),
    running: Number(row.running),
  }));
}

/** Filters shared by list and count: job, node, task, and parent (null means top-level only). */
function executionWhere(
  params: { jobId?: string; nodeId?: string; taskId?: string; parentId?: string | null },
  p: Params,
): string[] {
  const clauses: string[] = [];
  if (params.jobId !== undefined) clauses.push(`job_id = ${p.add(params.jobId)}`);
  if (params.nodeId !== undefined) clauses.push(`node_id = ${p.add(params.nodeId)}`);
  if (params.taskId !== undefined) clauses.push(`task_id = ${p.add(params.taskId)}`);
  if (params.parentId === null) clauses.push('parent_id IS NULL');
  else if (params.parentId !== undefined) clauses.push(`parent_id = ${p.add(params.parentId)}`);
  return clauses;
}
