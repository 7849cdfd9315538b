/**
 * The one better-sqlite3 connection of a SqliteStore: pragmas, a statement cache keyed by SQL
 * text, and BEGIN IMMEDIATE with retries. Everything here is synchronous; taking turns between
 * async callers is the store's job (sqlite-store.ts).
 */
import Database from 'better-sqlite3';
import type { Table, RawRow } from '../shared/codec.js';
import { decodeRow } from '../shared/codec.js';

export type Bind = unknown[];

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;
/** Extra attempts at BEGIN IMMEDIATE after SQLITE_BUSY, with doubling waits from 50 ms. */
const BEGIN_RETRIES = 4;
const BEGIN_BACKOFF_MS = 50;

const SQLITE_TRANSPORT = { jsonAsText: true, boolAsInt: true };

export class SqliteConnection {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly path: string) {
    this.db = new Database(path);
    // WAL lets readers in other processes go on while one process writes; NORMAL is durable
    // across application crashes (a power loss may lose the last commits, not corrupt the file).
    // The busy timeout comes first: switching to WAL takes a lock that another process opening
    // the same file at the same moment may hold.
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  /** The prepared statement for this SQL text, compiled once per connection. */
  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a write; the number of rows it changed. */
  run(sql: string, bind: Bind = []): number {
    return this.statement(sql).run(...bind).changes;
  }

  all(sql: string, bind: Bind = []): RawRow[] {
    return this.statement(sql).all(...bind) as RawRow[];
  }

  get(sql: string, bind: Bind = []): RawRow | undefined {
    return this.statement(sql).get(...bind) as RawRow | undefined;
  }

  /** Rows decoded into model rows through the table's column list. */
  rows<R>(table: Table<R>, sql: string, bind: Bind = []): R[] {
    return this.all(sql, bind).map((raw) => decodeRow(table, raw, SQLITE_TRANSPORT));
  }

  row<R>(table: Table<R>, sql: string, bind: Bind = []): R | undefined {
    const raw = this.get(sql, bind);
    return raw ? decodeRow(table, raw, SQLITE_TRANSPORT) : undefined;
  }

  /** The first column of the first row, as a number (counts). */
  number(sql: string, bind: Bind = []): number {
    const raw = this.get(sql, bind);
    return raw ? Number(Object.values(raw)[0] ?? 0) : 0;
  }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, so two processes claiming at once are
   * serialized by SQLite rather than both reading the same candidates (a deferred transaction
   * that upgrades to a writer in WAL mode fails at once with SQLITE_BUSY_SNAPSHOT instead). The
   * busy timeout waits for the lock; when it still fails, back off and try again a few times.
   */
  async begin(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if (!isBusy(error) || attempt >= BEGIN_RETRIES) throw error;
        await sleep(BEGIN_BACKOFF_MS * 2 ** attempt);
      }
    }
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  /** Rolls back if a transaction is still open (SQLite ends some on its own after errors). */
  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
