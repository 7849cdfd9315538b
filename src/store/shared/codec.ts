/**
 * How model rows map to table rows, shared by both stores: one column list per table, naming each
 * field's snake_case column and its kind. Both dialects read and write through these lists, so a
 * field added to the model is added in one place (plus a migration per dialect).
 *
 * Kinds differ by dialect only in transport: SQLite keeps JSON as TEXT and booleans as 0/1, while
 * PostgreSQL has JSONB and boolean (the pg driver parses them), and timestamptz/bigint values are
 * turned back into ISO strings and numbers by the pool's type parsers (see postgres/connection.ts).
 */
import type {
  ArtifactRow,
  EventRow,
  ExecutionRow,
  JobRow,
  NodeRow,
  OutboxRow,
  OutsideJobRow,
  PubkeyRow,
  ScheduleRow,
  ShareRow,
  TaskRow,
  TokenRow,
  UserRow,
} from '../../core/model.js';

export type ColumnKind = 'text' | 'int' | 'bigint' | 'real' | 'json' | 'bool' | 'time';

export interface Column<R> {
  field: keyof R & string;
  column: string;
  kind: ColumnKind;
  /** Filled by the database (identity, sequence): read but never inserted. */
  generated?: boolean;
}

export interface Table<R> {
  name: string;
  columns: readonly Column<R>[];
}

function col<R>(field: keyof R & string, column: string, kind: ColumnKind, generated = false): Column<R> {
  return { field, column, kind, generated };
}

export const JOBS: Table<JobRow> = {
  name: 'jobs',
  columns: [
    col('id', 'id', 'text'),
    col('name', 'name', 'text'),
    col('description', 'description', 'text'),
    col('owner', 'owner', 'text'),
    col('origin', 'origin', 'text'),
    col('tags', 'tags', 'json'),
    col('inputs', 'inputs', 'json'),
    col('secrets', 'secrets', 'json'),
    col('metadata', 'metadata', 'json'),
    col('queue', 'queue', 'text'),
    col('priority', 'priority', 'int'),
    col('spec', 'spec', 'json'),
    col('state', 'state', 'text'),
    col('progress', 'progress', 'real'),
    col('result', 'result', 'text'),
    col('error', 'error', 'text'),
    col('vars', 'vars', 'json'),
    col('parentExecutionId', 'parent_execution_id', 'text'),
    col('taskCount', 'task_count', 'int'),
    col('createdAt', 'created_at', 'time'),
    col('startedAt', 'started_at', 'time'),
    col('completedAt', 'completed_at', 'time'),
    col('failedAt', 'failed_at', 'time'),
  ],
};

export const TASKS: Table<TaskRow> = {
  name: 'tasks',
  columns: [
    col('id', 'id', 'text'),
    col('jobId', 'job_id', 'text'),
    col('position', 'position', 'int'),
    col('name', 'name', 'text'),
    col('spec', 'spec', 'json'),
    col('needs', 'needs', 'json'),
    col('state', 'state', 'text'),
  ],
};

export const EXECUTIONS: Table<ExecutionRow> = {
  name: 'executions',
  columns: [
    col('id', 'id', 'text'),
    col('jobId', 'job_id', 'text'),
    col('taskId', 'task_id', 'text'),
    col('parentId', 'parent_id', 'text'),
    col('idx', 'idx', 'int'),
    col('attempt', 'attempt', 'int'),
    col('kind', 'kind', 'text'),
    col('name', 'name', 'text'),
    col('state', 'state', 'text'),
    col('owner', 'owner', 'text'),
    col('queue', 'queue', 'text'),
    col('priority', 'priority', 'int'),
    col('cpus', 'cpus', 'real'),
    col('memoryMb', 'memory_mb', 'int'),
    col('spec', 'spec', 'json'),
    col('nodeId', 'node_id', 'text'),
    col('leaseExpiresAt', 'lease_expires_at', 'time'),
    col('notBefore', 'not_before', 'time'),
    col('timeoutMs', 'timeout_ms', 'bigint'),
    col('createdAt', 'created_at', 'time'),
    col('scheduledAt', 'scheduled_at', 'time'),
    col('startedAt', 'started_at', 'time'),
    col('completedAt', 'completed_at', 'time'),
    col('exitCode', 'exit_code', 'int'),
    col('result', 'result', 'text'),
    col('error', 'error', 'text'),
    col('reason', 'reason', 'text'),
    col('progress', 'progress', 'real'),
    col('childCount', 'child_count', 'int'),
    col('childDone', 'child_done', 'int'),
    col('childCreated', 'child_created', 'int'),
    col('seq', 'seq', 'bigint', true),
  ],
};

export const EVENTS: Table<EventRow> = {
  name: 'events',
  columns: [
    col('id', 'id', 'bigint', true),
    col('jobId', 'job_id', 'text'),
    col('executionId', 'execution_id', 'text'),
    col('at', 'at', 'time'),
    col('kind', 'kind', 'text'),
    col('state', 'state', 'text'),
    col('stage', 'stage', 'text'),
    col('message', 'message', 'text'),
    col('data', 'data', 'json'),
  ],
};

export const OUTBOX: Table<OutboxRow> = {
  name: 'outbox',
  columns: [
    col('id', 'id', 'bigint', true),
    col('kind', 'kind', 'text'),
    col('method', 'method', 'text'),
    col('url', 'url', 'text'),
    col('headers', 'headers', 'json'),
    col('body', 'body', 'json'),
    col('attempts', 'attempts', 'int'),
    col('maxAttempts', 'max_attempts', 'int'),
    col('nextAt', 'next_at', 'time'),
    col('createdAt', 'created_at', 'time'),
    col('lastError', 'last_error', 'text'),
    col('status', 'status', 'text'),
    col('orderingKey', 'ordering_key', 'text'),
  ],
};

/** A take-due condition on outbox row `o`: no older pending row shares its ordering key (one at a time, oldest first). */
export const OUTBOX_IN_ORDER = `(o.ordering_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM outbox AS older
      WHERE older.ordering_key = o.ordering_key AND older.status = 'pending' AND older.id < o.id))`;

export const OUTSIDE_JOBS: Table<OutsideJobRow> = {
  name: 'outside_jobs',
  columns: [
    col('origin', 'origin', 'text'),
    col('externalId', 'external_id', 'text'),
    col('jobId', 'job_id', 'text'),
    col('status', 'status', 'text'),
    col('cluster', 'cluster', 'text'),
    col('submittedAt', 'submitted_at', 'text'),
    col('record', 'record', 'json'),
  ],
};

export const ARTIFACTS: Table<ArtifactRow> = {
  name: 'artifacts',
  columns: [
    col('executionId', 'execution_id', 'text'),
    col('jobId', 'job_id', 'text'),
    col('path', 'path', 'text'),
    col('size', 'size', 'bigint'),
    col('createdAt', 'created_at', 'time'),
  ],
};

export const NODES: Table<NodeRow> = {
  name: 'nodes',
  columns: [
    col('id', 'id', 'text'),
    col('name', 'name', 'text'),
    col('role', 'role', 'text'),
    col('hostname', 'hostname', 'text'),
    col('version', 'version', 'text'),
    col('startedAt', 'started_at', 'time'),
    col('lastHeartbeatAt', 'last_heartbeat_at', 'time'),
    col('cpuPercent', 'cpu_percent', 'real'),
    col('cpus', 'cpus', 'real'),
    col('memoryMb', 'memory_mb', 'int'),
    col('usedCpus', 'used_cpus', 'real'),
    col('usedMemoryMb', 'used_memory_mb', 'int'),
    col('queues', 'queues', 'json'),
    col('status', 'status', 'text'),
    col('info', 'info', 'json'),
  ],
};

export const USERS: Table<UserRow> = {
  name: 'users',
  columns: [
    col('id', 'id', 'text'),
    col('name', 'name', 'text'),
    col('role', 'role', 'text'),
    col('createdAt', 'created_at', 'time'),
    col('disabled', 'disabled', 'bool'),
    col('passwordHash', 'password_hash', 'text'),
    col('quotas', 'quotas', 'json'),
  ],
};

export const TOKENS: Table<TokenRow> = {
  name: 'tokens',
  columns: [
    col('id', 'id', 'text'),
    col('userId', 'user_id', 'text'),
    col('hash', 'hash', 'text'),
    col('name', 'name', 'text'),
    col('kind', 'kind', 'text'),
    col('prefix', 'prefix', 'text'),
    col('createdAt', 'created_at', 'time'),
    col('expiresAt', 'expires_at', 'time'),
    col('lastUsedAt', 'last_used_at', 'time'),
  ],
};

export const PUBKEYS: Table<PubkeyRow> = {
  name: 'pubkeys',
  columns: [
    col('id', 'id', 'text'),
    col('userId', 'user_id', 'text'),
    col('name', 'name', 'text'),
    col('keyType', 'key_type', 'text'),
    col('publicKey', 'public_key', 'text'),
    col('fingerprint', 'fingerprint', 'text'),
    col('createdAt', 'created_at', 'time'),
    col('expiresAt', 'expires_at', 'time'),
    col('lastUsedAt', 'last_used_at', 'time'),
  ],
};

export const SHARES: Table<ShareRow> = {
  name: 'job_shares',
  columns: [col('jobId', 'job_id', 'text'), col('userName', 'user_name', 'text'), col('createdAt', 'created_at', 'time')],
};

export const SCHEDULES: Table<ScheduleRow> = {
  name: 'schedules',
  columns: [
    col('id', 'id', 'text'),
    col('name', 'name', 'text'),
    col('description', 'description', 'text'),
    col('cron', 'cron', 'text'),
    col('state', 'state', 'text'),
    col('spec', 'spec', 'json'),
    col('owner', 'owner', 'text'),
    col('origin', 'origin', 'text'),
    col('tags', 'tags', 'json'),
    col('createdAt', 'created_at', 'time'),
    col('nextAt', 'next_at', 'time'),
    col('lastFiredAt', 'last_fired_at', 'time'),
  ],
};

/** The columns an INSERT names: every column the database does not fill itself. */
export function insertColumns<R>(table: Table<R>): Column<R>[] {
  return table.columns.filter((c) => !c.generated);
}

/** Where the raw values of a dialect need decoding into model values. */
export interface Transport {
  /** JSON arrives as text (SQLite) rather than parsed (PostgreSQL). */
  jsonAsText: boolean;
  /** Booleans arrive as 0/1 (SQLite). */
  boolAsInt: boolean;
}

export type RawRow = Record<string, unknown>;

/** A database row (snake_case, raw values) as a model row. Columns the table list omits are ignored. */
export function decodeRow<R>(table: Table<R>, raw: RawRow, transport: Transport): R {
  const row: Record<string, unknown> = {};
  for (const c of table.columns) {
    const value = raw[c.column];
    if (value === undefined) continue;
    row[c.field] = decodeValue(c.kind, value, transport);
  }
  return row as R;
}

function decodeValue(kind: ColumnKind, value: unknown, transport: Transport): unknown {
  if (value === null) return null;
  if (kind === 'json' && transport.jsonAsText) return JSON.parse(value as string);
  if (kind === 'bool' && transport.boolAsInt) return value === 1;
  if (kind === 'bigint' && typeof value !== 'number') return Number(value);
  return value;
}

/** A model value as SQLite binds it: JSON as text, booleans as 0/1, undefined as NULL. */
export function encodeSqliteValue(kind: ColumnKind, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (kind === 'json') return JSON.stringify(value);
  if (kind === 'bool') return value ? 1 : 0;
  return value;
}

/** A model row as the positional values of an INSERT naming `insertColumns(table)`, for SQLite. */
export function encodeSqliteRow<R>(table: Table<R>, row: R): unknown[] {
  return insertColumns(table).map((c) => encodeSqliteValue(c.kind, row[c.field]));
}

/** A model row as one object of a `jsonb_to_recordset` batch (keys are column names), for PostgreSQL. */
export function encodeRecord<R>(table: Table<R>, row: R): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const c of insertColumns(table)) record[c.column] = row[c.field] ?? null;
  return record;
}

/** The column a patch field writes, refusing fields the table does not have (never interpolate input). */
export function columnOf<R>(table: Table<R>, field: string): Column<R> {
  const found = table.columns.find((c) => c.field === field && !c.generated);
  if (!found) throw new Error(`${table.name} has no writable field ${JSON.stringify(field)}`);
  return found;
}

/** The defined entries of a patch, each with its column: `undefined` means "leave as is", null clears. */
export function patchEntries<R>(table: Table<R>, patch: object | undefined): Array<{ column: Column<R>; value: unknown }> {
  if (!patch) return [];
  return Object.entries(patch)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => ({ column: columnOf(table, field), value }));
}
