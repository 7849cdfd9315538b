/**
 * PostgreSQL plumbing for the store: the pool (schema on the search path, type parsers that give
 * back the model's ISO strings and numbers), an executor that decodes rows through the shared
 * column lists, and the SQL built from those lists (multi-row inserts, guarded state writes).
 */
import pg from 'pg';
import type { State } from '../../core/model.js';
import type { ColumnKind, RawRow, Table } from '../shared/codec.js';
import { decodeRow, encodeRecord, insertColumns, patchEntries } from '../shared/codec.js';

const PG_TRANSPORT = { jsonAsText: false, boolAsInt: false };

/** Schema names are interpolated once (search_path, CREATE SCHEMA), so only plain names are allowed. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/u;

export interface PgOptions {
  /** Schema holding barge's tables. (Default: `?schema=` from the URL, else `public`) */
  schema?: string;
  /** Pool size. (Default: 10) */
  max?: number;
}

export interface PgSettings {
  /** Connection string without barge's own parameters. */
  connectionString: string;
  schema: string;
  max: number;
}

/** Splits barge's `schema` parameter off a postgres:// URL and checks it. */
export function pgSettings(url: string, options: PgOptions = {}): PgSettings {
  const parsed = new URL(url);
  const schema = options.schema ?? parsed.searchParams.get('schema') ?? 'public';
  parsed.searchParams.delete('schema');
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`PostgreSQL schema ${JSON.stringify(schema)} is not a plain lowercase name (a-z, 0-9, _)`);
  }
  return { connectionString: parsed.toString(), schema, max: options.max ?? 10 };
}

/** `"name"` with inner quotes doubled: the one way an identifier enters SQL text. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const INT8_OID = 20;
const TIMESTAMPTZ_OID = 1184;
const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID);

/**
 * bigint (seq, ids, counts) as a number: barge's values stay far below 2^53. timestamptz as the
 * ISO string the model uses, so both stores return the same text for the same instant.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === TIMESTAMPTZ_OID) return (value: string) => toIso(parseTimestamptz(value));
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function toIso(value: unknown): unknown {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : value;
}

/** Client settings shared by the pool and the dedicated LISTEN connection. */
export function clientConfig(settings: PgSettings): pg.ClientConfig {
  return { connectionString: settings.connectionString, types, options: `-c search_path=${settings.schema}` };
}

export function createPool(settings: PgSettings): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(settings), max: settings.max });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) => process.emitWarning(`PostgreSQL pool: ${error.message}`));
  // Nor a checked-out one (a transaction between two statements when the server restarts): an
  // 'error' event without a listener kills the process. Its query in flight, or its next one,
  // fails instead, and the transaction releases it as broken.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A pool or a transaction's client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

export type Bind = unknown[];

export class PgExec {
  constructor(private readonly target: Queryable) {}

  async all(sql: string, bind: Bind = []): Promise<RawRow[]> {
    return (await this.target.query(sql, bind)).rows as RawRow[];
  }

  async get(sql: string, bind: Bind = []): Promise<RawRow | undefined> {
    return (await this.all(sql, bind))[0];
  }

  /** Runs a write; the number of rows it changed. */
  async run(sql: string, bind: Bind = []): Promise<number> {
    return (await this.target.query(sql, bind)).rowCount ?? 0;
  }

  async rows<R>(table: Table<R>, sql: string, bind: Bind = []): Promise<R[]> {
    return (await this.all(sql, bind)).map((raw) => decodeRow(table, raw, PG_TRANSPORT));
  }

  async row<R>(table: Table<R>, sql: string, bind: Bind = []): Promise<R | undefined> {
    return (await this.rows(table, sql, bind))[0];
  }

  /** The first column of the first row, as a number (counts). */
  async number(sql: string, bind: Bind = []): Promise<number> {
    const raw = await this.get(sql, bind);
    return raw ? Number(Object.values(raw)[0] ?? 0) : 0;
  }
}

/** Builds `$1, $2, …` placeholders while collecting their values, so clauses can be assembled in order. */
export class Params {
  readonly values: Bind = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const PG_TYPES: Record<ColumnKind, string> = {
  text: 'text',
  int: 'integer',
  bigint: 'bigint',
  real: 'double precision',
  json: 'jsonb',
  bool: 'boolean',
  time: 'timestamptz',
};

/** A model value as a bound parameter: JSON as text (pg would turn a JS array into a PG array). */
export function encodePgValue(kind: ColumnKind, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  return kind === 'json' ? JSON.stringify(value) : value;
}

/** `$n::type`, so PostgreSQL never has to guess a parameter's type. */
export function typedParam(params: Params, kind: ColumnKind, value: unknown): string {
  return `${params.add(encodePgValue(kind, value))}::${PG_TYPES[kind]}`;
}

const insertOneByTable = new Map<string, string>();
const insertManyByTable = new Map<string, string>();

/** `INSERT INTO t (cols) VALUES ($1::type, …)` for one row; values from `insertValues`. */
export function insertOneSql<R>(table: Table<R>): string {
  let sql = insertOneByTable.get(table.name);
  if (!sql) {
    const columns = insertColumns(table);
    const values = columns.map((c, i) => `$${i + 1}::${PG_TYPES[c.kind]}`);
    sql = `INSERT INTO ${table.name} (${columns.map((c) => c.column).join(', ')}) VALUES (${values.join(', ')})`;
    insertOneByTable.set(table.name, sql);
  }
  return sql;
}

export function insertValues<R>(table: Table<R>, row: R): Bind {
  return insertColumns(table).map((c) => encodePgValue(c.kind, row[c.field]));
}

/**
 * Many rows in one statement: the rows travel as one JSON array parameter and
 * `jsonb_to_recordset` turns it back into typed rows (`ord` keeps the array order, so sequences
 * are assigned in it). Use with `insertManyBatches`.
 */
export function insertManySql<R>(table: Table<R>): string {
  let sql = insertManyByTable.get(table.name);
  if (!sql) {
    const columns = insertColumns(table);
    const names = columns.map((c) => c.column).join(', ');
    const definition = [...columns.map((c) => `${c.column} ${PG_TYPES[c.kind]}`), 'ord integer'].join(', ');
    sql = `INSERT INTO ${table.name} (${names})
      SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS r(${definition}) ORDER BY ord`;
    insertManyByTable.set(table.name, sql);
  }
  return sql;
}

/** Rows per multi-row statement: bounds the size of one JSON parameter. */
const ROWS_PER_STATEMENT = 5_000;

/** The JSON parameters for `insertManySql`, one per statement. */
export function insertManyBatches<R>(table: Table<R>, rows: readonly R[]): string[] {
  const batches: string[] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const records = rows
      .slice(start, start + ROWS_PER_STATEMENT)
      .map((row, i) => ({ ...encodeRecord(table, row), ord: start + i }));
    batches.push(JSON.stringify(records));
  }
  return batches;
}

export async function insertMany<R>(x: PgExec, table: Table<R>, rows: readonly R[]): Promise<void> {
  for (const batch of insertManyBatches(table, rows)) await x.run(insertManySql(table), [batch]);
}

export interface GuardedWrite {
  id?: string;
  ids?: readonly string[];
  from: readonly State[];
  to: State;
  patch?: object;
  nodeId?: string;
}

/**
 * `UPDATE t SET state = to, <patch> WHERE id … AND state = ANY(from) [AND node_id = $n]`: the
 * write happens only where the row is still in a state the move is legal from, so a racing writer
 * changes nothing. Returns the ids that changed.
 */
export async function guardedUpdate<R>(x: PgExec, table: Table<R>, write: GuardedWrite): Promise<string[]> {
  const { sql, values } = guardedUpdateSql(table, write);
  return (await x.all(`${sql} RETURNING id`, values)).map((row) => row.id as string);
}

/** The same guarded write, answering the changed rows as they are after it. */
export async function guardedUpdateRows<R>(x: PgExec, table: Table<R>, write: GuardedWrite): Promise<R[]> {
  const { sql, values } = guardedUpdateSql(table, write);
  return x.rows(table, `${sql} RETURNING *`, values);
}

function guardedUpdateSql<R>(table: Table<R>, write: GuardedWrite): { sql: string; values: unknown[] } {
  const params = new Params();
  const sets = [`state = ${params.add(write.to)}`];
  for (const { column, value } of patchEntries(table, write.patch)) {
    sets.push(`${column.column} = ${typedParam(params, column.kind, value)}`);
  }
  const where =
    write.id !== undefined ? [`id = ${params.add(write.id)}`] : [`id = ANY(${params.add(write.ids ?? [])}::text[])`];
  where.push(`state = ANY(${params.add(write.from)}::text[])`);
  if (write.nodeId !== undefined) {
    if (table.name !== 'executions') throw new Error(`${table.name} rows are not leased to nodes`);
    where.push(`node_id = ${params.add(write.nodeId)}`);
  }
  return { sql: `UPDATE ${table.name} SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`, values: params.values };
}

export { countsByState, whereSql } from '../shared/clauses.js';
