/** SQLite statements for executions: inserts, reads, guarded writes, claims, leases, queue stats. */
import type { ExecutionRow, State } from '../../core/model.js';
import { ACTIVE_STATES } from '../../core/states.js';
import type { ActiveListParams, ArrayItemsChunk, ClaimCandidatesParams, ExecutionListParams, ExecutionPatch, StateWrite } from '../store.js';
import { EXECUTIONS, encodeSqliteRow } from '../shared/codec.js';
import type { Bind, SqliteConnection } from './connection.js';
import { countsByJobAndState } from '../shared/clauses.js';
import { itemCountsSql } from '../shared/item-counts.js';
import { countsByState, guardedUpdate, guardedUpdateRows, insertSql, whereSql } from './sql.js';

const EXECUTION_GET = `SELECT * FROM executions WHERE id = ?`;

/**
 * Each owner's best runnable candidates. The owners come from a loose index scan: a recursive CTE
 * that jumps from one owner to the next through the (state, owner, priority DESC, seq) index, one
 * index probe per owner, instead of reading every runnable row to find the distinct owners (one
 * owner's 100,000-item array would make a GROUP BY or DISTINCT read 100,000 rows per claim).
 * Then, per owner, the same index yields its rows by priority and age; the queue, kind and
 * backoff filters are applied as that walk goes, so only skipped rows are read beyond `perOwner`.
 */
const EXECUTION_CLAIM_CANDIDATES = `
  WITH RECURSIVE owners (owner) AS (
    SELECT (SELECT owner FROM executions WHERE state = 'RUNNABLE' ORDER BY owner LIMIT 1)
    UNION ALL
    SELECT (SELECT e.owner FROM executions AS e
            WHERE e.state = 'RUNNABLE' AND e.owner > owners.owner ORDER BY e.owner LIMIT 1)
    FROM owners WHERE owners.owner IS NOT NULL
  )
  SELECT e.* FROM owners JOIN executions AS e ON e.seq IN (
    SELECT c.seq FROM executions AS c
    WHERE c.state = 'RUNNABLE' AND c.owner = owners.owner
      AND c.queue IN (SELECT value FROM json_each(@queues))
      AND c.kind IN (SELECT value FROM json_each(@kinds))
      AND (c.not_before IS NULL OR c.not_before <= @now)
      AND (@fitCpus IS NULL OR c.cpus <= @fitCpus + 1e-9)
      AND (@fitMemoryMb IS NULL OR c.memory_mb <= @fitMemoryMb)
    ORDER BY c.priority DESC, c.seq
    LIMIT @perOwner
  )
  WHERE owners.owner IS NOT NULL
  ORDER BY e.priority DESC, e.seq`;

const EXECUTION_RENEW_LEASES = `
  UPDATE executions SET lease_expires_at = ?
  WHERE node_id = ? AND id IN (SELECT value FROM json_each(?)) AND state IN ('STARTING', 'RUNNING')
  RETURNING id`;

const EXECUTION_LIST_LEASE_EXPIRED = `
  SELECT * FROM executions
  WHERE state IN ('STARTING', 'RUNNING') AND lease_expires_at < ?
  ORDER BY lease_expires_at LIMIT ?`;

/** Elapsed milliseconds from the ISO times' julian days; exact enough for a backstop timeout. */
const EXECUTION_LIST_PAST_TIMEOUT = `
  SELECT * FROM executions
  WHERE state = 'RUNNING' AND timeout_ms IS NOT NULL AND started_at IS NOT NULL
    AND (julianday(?) - julianday(started_at)) * 86400000.0 > timeout_ms + ?
  ORDER BY seq LIMIT ?`;

const EXECUTION_ADD_CHILD_DONE = `
  UPDATE executions SET child_done = child_done + ? WHERE id = ? AND state = 'RUNNING' RETURNING *`;

/** Only work a worker runs counts: a composite is RUNNING while its children run, on no node. */
const QUEUE_STATS = `
  SELECT queue,
         sum(state = 'RUNNABLE') AS runnable,
         sum(state IN ('STARTING', 'RUNNING')) AS running
  FROM executions
  WHERE state IN ('RUNNABLE', 'STARTING', 'RUNNING') AND kind IN ('shell', 'lua', 'container')
  GROUP BY queue ORDER BY queue`;

/** One prepared statement reused for every row, inside the caller's one transaction. */
export function executionInsertMany(c: SqliteConnection, rows: ExecutionRow[]): void {
  const sql = insertSql(EXECUTIONS);
  for (const row of rows) c.run(sql, encodeSqliteRow(EXECUTIONS, row));
}

export function executionGet(c: SqliteConnection, id: string): ExecutionRow | undefined {
  return c.row(EXECUTIONS, EXECUTION_GET, [id]);
}

/** Oldest first (seq), or by index in the parent's array when `orderByIdx`. */
export function executionList(c: SqliteConnection, params: ExecutionListParams): ExecutionRow[] {
  const { clauses, bind } = executionWhere(params);
  if (params.states?.length) {
    clauses.push(stateIn(params.states));
    bind.push(...params.states);
  }
  if (params.afterSeq !== undefined) {
    clauses.push('seq > ?');
    bind.push(params.afterSeq);
  }
  const order = params.orderByIdx ? 'idx, seq' : 'seq';
  const sql = `SELECT * FROM executions ${whereSql(clauses)} ORDER BY ${order} LIMIT ?`;
  return c.rows(EXECUTIONS, sql, [...bind, params.limit]);
}

export function executionCountByState(
  c: SqliteConnection,
  params: { jobId?: string; parentId?: string },
): Partial<Record<State, number>> {
  const { clauses, bind } = executionWhere(params);
  return countsByState(c.all(`SELECT state, count(*) AS n FROM executions ${whereSql(clauses)} GROUP BY state`, bind));
}

const EXECUTION_COUNT_BY_JOB_AND_STATE = `
  SELECT job_id, state, count(*) AS n FROM executions
  WHERE job_id IN (SELECT value FROM json_each(?)) GROUP BY job_id, state`;

export function executionCountByStateMany(c: SqliteConnection, params: { jobIds: string[] }): Record<string, Partial<Record<State, number>>> {
  if (params.jobIds.length === 0) return {};
  return countsByJobAndState(c.all(EXECUTION_COUNT_BY_JOB_AND_STATE, [JSON.stringify(params.jobIds)]));
}

const ITEM_COUNTS = itemCountsSql('IN (SELECT value FROM json_each(?))');

export function executionItemCountByStateMany(c: SqliteConnection, params: { jobIds: string[] }): Record<string, Partial<Record<State, number>>> {
  if (params.jobIds.length === 0) return {};
  return countsByJobAndState(c.all(ITEM_COUNTS, [JSON.stringify(params.jobIds)]));
}

export function executionSetState(c: SqliteConnection, write: StateWrite<ExecutionPatch>): boolean {
  return guardedUpdate(c, EXECUTIONS, write).length > 0;
}

export function executionSetStateMany(
  c: SqliteConnection,
  params: { ids: string[]; from: readonly State[]; to: State; patch?: ExecutionPatch },
): string[] {
  if (params.ids.length === 0) return [];
  return guardedUpdate(c, EXECUTIONS, params);
}

/** SQLite transactions take turns, so there is never a row another one holds (`skipLocked`). */
export function executionListActive(c: SqliteConnection, params: ActiveListParams): ExecutionRow[] {
  const { clauses, bind } = executionWhere(params);
  clauses.push(stateIn(ACTIVE_STATES));
  bind.push(...ACTIVE_STATES);
  if (params.kinds) {
    clauses.push(`kind IN (SELECT value FROM json_each(?))`);
    bind.push(JSON.stringify(params.kinds));
  }
  return c.rows(EXECUTIONS, `SELECT * FROM executions ${whereSql(clauses)} ORDER BY seq`, bind);
}

export function executionAddChildDone(c: SqliteConnection, params: { id: string; by: number }): ExecutionRow | undefined {
  return c.row(EXECUTIONS, EXECUTION_ADD_CHILD_DONE, [params.by, params.id]);
}

export function executionMove(c: SqliteConnection, write: StateWrite<ExecutionPatch>): ExecutionRow | undefined {
  return guardedUpdateRows(c, EXECUTIONS, write)[0];
}

/**
 * At most `perOwner` RUNNABLE executions per owner, each owner's highest priority then oldest
 * (seq) first, in the given queues and kinds, and not held back by a retry backoff (`notBefore`
 * null or at most `now`). The caller runs this in its BEGIN IMMEDIATE transaction, so no other
 * process can claim the same rows before its claim write commits.
 */
export function executionClaimCandidates(c: SqliteConnection, params: ClaimCandidatesParams): ExecutionRow[] {
  if (params.queues.length === 0 || params.kinds.length === 0 || params.perOwner <= 0) return [];
  return c.rows(EXECUTIONS, EXECUTION_CLAIM_CANDIDATES, [
    {
      queues: JSON.stringify(params.queues),
      kinds: JSON.stringify(params.kinds),
      now: params.now,
      perOwner: params.perOwner,
      fitCpus: params.fits?.cpus ?? null,
      fitMemoryMb: params.fits?.memoryMb ?? null,
    },
  ]);
}

const EXECUTION_LIST_RUNNABLE_EXCEEDING = `
  SELECT * FROM executions
  WHERE state = 'RUNNABLE' AND kind IN ('shell', 'lua', 'container')
    AND (cpus > ? OR memory_mb > ? OR reason LIKE ? || '%')
  ORDER BY seq LIMIT ?`;

export function executionListRunnableExceeding(
  c: SqliteConnection,
  params: { cpus: number; memoryMb: number; orReasonPrefix: string; limit: number },
): ExecutionRow[] {
  return c.rows(EXECUTIONS, EXECUTION_LIST_RUNNABLE_EXCEEDING, [params.cpus + 1e-9, params.memoryMb, params.orReasonPrefix, params.limit]);
}

/** Extends the leases the node still holds (STARTING/RUNNING and leased to it); returns their ids. */
export function executionRenewLeases(c: SqliteConnection, params: { nodeId: string; ids: string[]; until: string }): string[] {
  if (params.ids.length === 0) return [];
  const rows = c.all(EXECUTION_RENEW_LEASES, [params.until, params.nodeId, JSON.stringify(params.ids)]);
  return rows.map((row) => row.id as string);
}

export function executionListLeaseExpired(c: SqliteConnection, params: { now: string; limit: number }): ExecutionRow[] {
  return c.rows(EXECUTIONS, EXECUTION_LIST_LEASE_EXPIRED, [params.now, params.limit]);
}

export function executionListPastTimeout(
  c: SqliteConnection,
  params: { now: string; graceMs: number; limit: number },
): ExecutionRow[] {
  return c.rows(EXECUTIONS, EXECUTION_LIST_PAST_TIMEOUT, [params.now, params.graceMs, params.limit]);
}

const EXECUTION_ITEMS_LEFT = `
  SELECT child_created, child_count FROM executions
  WHERE id = ? AND state = 'RUNNING' AND child_created < child_count`;
const EXECUTION_SET_ITEMS_MADE = `UPDATE executions SET child_created = ? WHERE id = ?`;

/** Read then write inside the caller's one transaction (BEGIN IMMEDIATE: no one else writes meanwhile). */
export function executionTakeItems(c: SqliteConnection, params: { id: string; max: number }): { first: number; count: number } | undefined {
  const row = c.get(EXECUTION_ITEMS_LEFT, [params.id]);
  if (!row || params.max <= 0) return undefined;
  const first = Number(row.child_created);
  const count = Math.min(params.max, Number(row.child_count) - first);
  c.run(EXECUTION_SET_ITEMS_MADE, [first + count, params.id]);
  return { first, count };
}

/** Served by the small partial index executions_unmade, not by a walk over a job's executions. */
const EXECUTION_COUNT_UNMADE = `
  SELECT job_id, sum(child_count - child_created) AS n FROM executions
  WHERE job_id IN (SELECT value FROM json_each(?)) AND state = 'RUNNING' AND child_created < child_count
  GROUP BY job_id`;

export function executionCountUnmade(c: SqliteConnection, params: { jobIds: string[] }): Record<string, number> {
  if (params.jobIds.length === 0) return {};
  const rows = c.all(EXECUTION_COUNT_UNMADE, [JSON.stringify(params.jobIds)]);
  return Object.fromEntries(rows.map((row) => [row.job_id as string, Number(row.n)]));
}

const ARRAY_ITEMS_INSERT = `INSERT OR IGNORE INTO array_items (execution_id, chunk, items) VALUES (?, ?, ?)`;
const ARRAY_ITEMS_GET = `
  SELECT chunk, items FROM array_items
  WHERE execution_id = ? AND chunk IN (SELECT value FROM json_each(?)) ORDER BY chunk`;
const ARRAY_ITEMS_DELETE = `DELETE FROM array_items WHERE execution_id = ?`;

export function arrayItemsInsert(c: SqliteConnection, params: { executionId: string; chunks: ArrayItemsChunk[] }): void {
  for (const { chunk, items } of params.chunks) c.run(ARRAY_ITEMS_INSERT, [params.executionId, chunk, items]);
}

export function arrayItemsGet(c: SqliteConnection, params: { executionId: string; chunks: number[] }): ArrayItemsChunk[] {
  if (params.chunks.length === 0) return [];
  return c
    .all(ARRAY_ITEMS_GET, [params.executionId, JSON.stringify(params.chunks)])
    .map((row) => ({ chunk: Number(row.chunk), items: row.items as string }));
}

export function arrayItemsDelete(c: SqliteConnection, params: { executionId: string }): void {
  c.run(ARRAY_ITEMS_DELETE, [params.executionId]);
}

export function queueStats(c: SqliteConnection): Array<{ queue: string; runnable: number; running: number }> {
  return c.all(QUEUE_STATS).map((row) => ({
    queue: row.queue as string,
    runnable: Number(row.runnable),
    running: Number(row.running),
  }));
}

/** Filters shared by list and count: job, node, task, and parent (null means top-level only). */
function executionWhere(params: { jobId?: string; nodeId?: string; taskId?: string; parentId?: string | null }): {
  clauses: string[];
  bind: Bind;
} {
  const clauses: string[] = [];
  const bind: Bind = [];
  if (params.jobId !== undefined) {
    clauses.push('job_id = ?');
    bind.push(params.jobId);
  }
  if (params.nodeId !== undefined) {
    clauses.push('node_id = ?');
    bind.push(params.nodeId);
  }
  if (params.taskId !== undefined) {
    clauses.push('task_id = ?');
    bind.push(params.taskId);
  }
  if (params.parentId === null) clauses.push('parent_id IS NULL');
  else if (params.parentId !== undefined) {
    clauses.push('parent_id = ?');
    bind.push(params.parentId);
  }
  return { clauses, bind };
}

/**
 * `state IN (?, ?, …)` with one placeholder per state. A json_each list here would hide the state
 * from the planner, which then walks (parent_id, idx) instead of (parent_id, state, idx): a scan
 * of every finished item on each each-slot release.
 */
export function stateIn(states: readonly string[]): string {
  return `state IN (${states.map(() => '?').join(', ')})`;
}
