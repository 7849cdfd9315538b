/** SQL built from the shared column lists: inserts and guarded state writes, with every value bound. */
import type { State } from '../../core/model.js';
import type { Table } from '../shared/codec.js';
import { encodeSqliteValue, insertColumns, patchEntries } from '../shared/codec.js';
import type { Bind, SqliteConnection } from './connection.js';

const insertSqlByTable = new Map<string, string>();

/** `INSERT INTO t (every insertable column) VALUES (?, …)`, built once per table. */
export function insertSql<R>(table: Table<R>): string {
  let sql = insertSqlByTable.get(table.name);
  if (!sql) {
    const columns = insertColumns(table).map((c) => c.column);
    sql = `INSERT INTO ${table.name} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    insertSqlByTable.set(table.name, sql);
  }
  return sql;
}

export interface GuardedWrite {
  /** One id, or many. */
  id?: string;
  ids?: readonly string[];
  from: readonly State[];
  to: State;
  patch?: object;
  /** Executions only: the row must also be leased by this node. */
  nodeId?: string;
}

/**
 * `UPDATE t SET state = to, <patch> WHERE id … AND state IN (from…) [AND node_id = ?]`: the write
 * happens only where the row is still in a state the move is legal from, so a racing writer (a
 * cancel, the reaper, a late report) changes nothing. Returns the ids that changed.
 */
export function guardedUpdate<R>(c: SqliteConnection, table: Table<R>, write: GuardedWrite): string[] {
  const { sql, bind } = guardedUpdateSql(table, write);
  return c.all(`${sql} RETURNING id`, bind).map((row) => row.id as string);
}

/** The same guarded write, answering the changed rows as they are after it. */
export function guardedUpdateRows<R>(c: SqliteConnection, table: Table<R>, write: GuardedWrite): R[] {
  const { sql, bind } = guardedUpdateSql(table, write);
  return c.rows(table, `${sql} RETURNING *`, bind);
}

function guardedUpdateSql<R>(table: Table<R>, write: GuardedWrite): { sql: string; bind: Bind } {
  const sets = ['state = ?'];
  const bind: Bind = [write.to];
  for (const { column, value } of patchEntries(table, write.patch)) {
    sets.push(`${column.column} = ?`);
    bind.push(encodeSqliteValue(column.kind, value));
  }
  const where: string[] = [];
  if (write.id !== undefined) {
    where.push('id = ?');
    bind.push(write.id);
  } else {
    where.push('id IN (SELECT value FROM json_each(?))');
    bind.push(JSON.stringify(write.ids ?? []));
  }
  where.push('state IN (SELECT value FROM json_each(?))');
  bind.push(JSON.stringify(write.from));
  if (write.nodeId !== undefined) {
    if (table.name !== 'executions') throw new Error(`${table.name} rows are not leased to nodes`);
    where.push('node_id = ?');
    bind.push(write.nodeId);
  }
  return { sql: `UPDATE ${table.name} SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`, bind };
}

export { countsByState, whereSql } from '../shared/clauses.js';
